// Reading a child process's JSON (pino) log line by line, so a test can wait for the line that
// says a server is listening, ready or done, and see the whole log when it never comes.
import type { ChildProcess } from 'node:child_process';

/** One parsed line of a JSON log; a line that is not JSON is `{ msg: <text>, unparsed: true }`. */
export type JsonLogLine = Record<string, unknown> & { msg?: string; level?: number };

/** The log of a child process, as it arrives. */
export interface JsonLog {
  /** Every stdout line so far, parsed. */
  readonly lines: JsonLogLine[];
  /** Everything on stderr so far. */
  stderr(): string;
  /**
   * The first line (already seen or future) that `match`es. Rejects when the process exits
   * without one, with the whole log and stderr in the message.
   */
  waitFor(match: (line: JsonLogLine) => boolean, what: string): Promise<JsonLogLine>;
}

/**
 * Follows the stdout (JSON lines) and stderr of `child`, which must have been spawned with
 * both piped. `name` is what the rejection of {@link JsonLog.waitFor} calls the process.
 */
export function followJsonLog(child: ChildProcess, name: string): JsonLog {
  const lines: JsonLogLine[] = [];
  const waiters: { match: (line: JsonLogLine) => boolean; resolve: (line: JsonLogLine) => void }[] =
    [];
  let pending = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let line: JsonLogLine;
      try {
        line = JSON.parse(text) as JsonLogLine;
      } catch {
        line = { msg: text, unparsed: true };
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    lines,
    stderr: () => stderr,
    waitFor(match, what) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise<JsonLogLine>((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(({ code, signal }) =>
          // Let the last stdout chunk be parsed before deciding the line never came.
          setTimeout(() => {
            const late = lines.find(match);
            if (late) return resolve(late);
            reject(
              new Error(
                `${name} exited (code ${code}, signal ${signal}) before ${what}\n` +
                  `log:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${stderr}`,
              ),
            );
          }, 50),
        );
      });
    },
  };
}
