// The entry script's own stdout/stderr become tagged lines in the replica's JSON log, so a
// print() in score.py shows up in `get_logs` without corrupting anything.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';

/** Longest line kept whole; longer output is logged in pieces of this size. */
const MAX_LINE = 16 * 1024;

/** Logs every line `stream` produces as `{source: 'entry-script', stream: name, msg: line}`. */
export function logScriptOutput(stream: Readable, name: 'stdout' | 'stderr', log: Logger): void {
  let pending = '';
  stream.setEncoding('utf8');
  const emit = (line: string) => log.info({ source: 'entry-script', stream: name }, line);
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      emit(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
    }
    while (pending.length > MAX_LINE) {
      emit(pending.slice(0, MAX_LINE));
      pending = pending.slice(MAX_LINE);
    }
  });
  stream.on('end', () => {
    if (pending) emit(pending);
    pending = '';
  });
  stream.on('error', () => undefined);
}
