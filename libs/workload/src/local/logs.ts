// replica.log: one line per line a replica wrote, `<ISO time> <stdout|stderr> <text>`, appended
// by the replica's launcher (and by the driver for its own notes: why a replica restarted). It
// outlives the agent and every restart of the replica, which appends to the same file. Past
// `maxLogBytes` the launcher renames it to replica.log.1 (replacing the previous one) and
// starts a new one, so a replica's logs stay within twice that size.
import { appendFile, open, stat } from 'node:fs/promises';
import type { ReplicaLogLine, ServiceKey } from '../driver.js';
import type { StateLayout } from './layout.js';

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (stdout|stderr) (.*)$/s;

/** Parses one line of replica.log; a line in no known shape is kept as stdout at `fallback`. */
export function parseLogLine(replicaId: string, line: string, fallback: Date): ReplicaLogLine {
  const match = LINE.exec(line);
  if (!match) return { replicaId, time: fallback, stream: 'stdout', text: line };
  return {
    replicaId,
    time: new Date(match[1] ?? ''),
    stream: match[2] === 'stderr' ? 'stderr' : 'stdout',
    text: match[3] ?? '',
  };
}

/** Parses complete lines (no trailing newline) of one replica's log, oldest first. */
export function parseLogLines(replicaId: string, lines: readonly string[]): ReplicaLogLine[] {
  let previous = new Date(0);
  return lines.map((line) => {
    const parsed = parseLogLine(replicaId, line, previous);
    previous = parsed.time;
    return parsed;
  });
}

/** Appends a note of the driver's own to a replica's log (as stderr, where a user looks). */
export async function appendDriverNote(file: string, text: string, now: Date): Promise<void> {
  await appendFile(file, `${now.toISOString()} stderr [skiff] ${text}\n`, { mode: 0o600 });
}

/** The last `count` lines a replica logged: replica.log, then its rotated predecessor. */
export async function lastReplicaLines(file: string, count: number): Promise<string[]> {
  const lines = await lastLines(file, count);
  if (lines.length >= count) return lines;
  return [...(await lastLines(`${file}.1`, count - lines.length)), ...lines];
}

/** The last `count` complete lines of a file (read backwards in chunks), oldest first. */
export async function lastLines(file: string, count: number): Promise<string[]> {
  if (count <= 0) return [];
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    while (position > 0 && newlines <= count) {
      const length = Math.min(64 * 1024, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, position);
      chunks.unshift(chunk);
      for (const byte of chunk) if (byte === 0x0a) newlines += 1;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const lines = text.split('\n');
    // The last element is what follows the final newline (a line still being written).
    lines.pop();
    // With bytes before `position` unread, the first element may be part of a line.
    if (position > 0) lines.shift();
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/**
 * The last thing a replica said went wrong in `lines`: its last stderr line, or the message of
 * its last pino line at level error or above (the scoring server logs as JSON on stdout),
 * whichever came later; '' when there is none.
 */
export function lastErrorOf(lines: readonly ReplicaLogLine[]): string {
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const line = lines[i];
    if (!line || line.text.startsWith('[skiff] ')) continue;
    if (line.stream === 'stderr' && line.text.trim() !== '') return line.text.trim();
    const entry = jsonEntry(line.text);
    if (entry && typeof entry['level'] === 'number' && entry['level'] >= 50) {
      return typeof entry['msg'] === 'string' ? entry['msg'] : line.text;
    }
  }
  return '';
}

/** The traceback the scoring server logged with its last `init() failed` line, or ''. */
export function lastTracebackOf(lines: readonly ReplicaLogLine[]): string {
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const entry = jsonEntry(lines[i]?.text ?? '');
    if (entry && typeof entry['traceback'] === 'string') return entry['traceback'];
  }
  return '';
}

function jsonEntry(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

interface FollowedFile {
  inode: number;
  offset: number;
  rest: Buffer;
}

/**
 * Polls every replica.log under the state directory and reports what was appended, per service.
 * Files present when following starts are read from their end; files that appear later (new
 * replicas) from their start. A file that shrank or was replaced is read again from its start.
 */
export class LogFollower {
  private readonly files = new Map<string, FollowedFile>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly layout: StateLayout,
    private readonly intervalMs: number,
    private readonly onLines: (key: ServiceKey, lines: ReplicaLogLine[]) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Takes the starting offsets, then polls until {@link stop}. */
  async start(): Promise<void> {
    await this.poll(true);
    this.schedule();
  }

  /** Stops polling; resolves once a poll under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll(false)
        .catch(this.onError)
        .finally(() => this.schedule());
    }, this.intervalMs);
  }

  private async poll(initial: boolean): Promise<void> {
    const seen = new Set<string>();
    for (const key of await this.layout.services()) {
      const batch: ReplicaLogLine[] = [];
      for (const replicaId of await this.layout.replicaIds(key)) {
        const path = this.layout.logFile(key, replicaId);
        seen.add(path);
        batch.push(...(await this.read(path, replicaId, initial)));
      }
      if (batch.length > 0 && !this.stopped) {
        batch.sort((a, b) => a.time.getTime() - b.time.getTime());
        this.onLines(key, batch);
      }
    }
    for (const path of this.files.keys()) if (!seen.has(path)) this.files.delete(path);
  }

  private async read(path: string, replicaId: string, initial: boolean): Promise<ReplicaLogLine[]> {
    let info;
    try {
      info = await stat(path);
    } catch {
      return [];
    }
    let file = this.files.get(path);
    if (!file) {
      file = { inode: info.ino, offset: initial ? info.size : 0, rest: Buffer.alloc(0) };
      this.files.set(path, file);
    }
    const lines: string[] = [];
    if (file.inode !== info.ino || info.size < file.offset) {
      // Rotated by the launcher (renamed to .1): first what was added to it before the rename.
      const rotated = `${path}.1`;
      const old = await stat(rotated).catch(() => undefined);
      if (file.inode !== info.ino && old?.ino === file.inode) {
        lines.push(...(await readFrom(rotated, file, old.size)));
      }
      file.inode = info.ino;
      file.offset = 0;
      file.rest = Buffer.alloc(0);
    }
    lines.push(...(await readFrom(path, file, info.size)));
    return parseLogLines(replicaId, lines);
  }
}

/** Complete lines of `path` from `file.offset` up to `size` (at most 4 MiB per call). */
async function readFrom(path: string, file: FollowedFile, size: number): Promise<string[]> {
  if (size <= file.offset) return [];
  // At most 4 MiB per poll: a replica that logged a lot is caught up over several polls.
  const length = Math.min(size - file.offset, 4 * 1024 * 1024);
  const buffer = Buffer.alloc(length);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return []; // removed since the stat: the replica is gone
  }
  let bytesRead: number;
  try {
    ({ bytesRead } = await handle.read(buffer, 0, length, file.offset));
  } finally {
    await handle.close();
  }
  file.offset += bytesRead;
  // Cut at the last newline, as bytes: a character split across two reads stays whole.
  const data = Buffer.concat([file.rest, buffer.subarray(0, bytesRead)]);
  const end = data.lastIndexOf(0x0a);
  file.rest = data.subarray(end + 1);
  if (end < 0) return [];
  return data.subarray(0, end).toString('utf8').split('\n');
}
