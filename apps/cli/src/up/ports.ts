import { createServer } from 'node:net';

/** A port `skiff up` is about to listen on, and which option sets it. */
export interface PlannedPort {
  readonly port: number;
  readonly what: string;
  readonly option: string;
}

/** Whether a TCP listener on `host:port` can be opened right now. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the kernel just picked as free on `host`. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port the kernel assigned'));
      });
    });
  });
}

/**
 * The sentences for every planned port that is taken (or planned twice), before anything
 * starts: a port in use is a clear error, not a child process that dies at start.
 */
export async function busyPorts(host: string, planned: readonly PlannedPort[]): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Map<number, PlannedPort>();
  for (const entry of planned) {
    const other = seen.get(entry.port);
    if (other) {
      problems.push(
        `port ${entry.port} is given to both ${other.what} (${other.option}) and ${entry.what} (${entry.option})`,
      );
      continue;
    }
    seen.set(entry.port, entry);
    if (!(await portIsFree(host, entry.port))) {
      problems.push(
        `port ${entry.port} on ${host} (${entry.what}) is in use: stop what listens there, or choose another with ${entry.option}`,
      );
    }
  }
  return problems;
}
