// What one container instance wrote, with the kubelet's timestamps (RFC 3339, nanosecond
// digits, strictly increasing here so that `sinceTime` and de-duplication are exact).

/** One line of a container's log. */
export interface LogLine {
  /** RFC3339Nano with fixed nine digits, as the kubelet prints with `timestamps=true`. */
  readonly timestamp: string;
  readonly time: Date;
  readonly text: string;
}

let lastMillis = 0;
let sequence = 0;

function nextTimestamp(): { timestamp: string; time: Date } {
  const now = Date.now();
  if (now > lastMillis) {
    lastMillis = now;
    sequence = 0;
  } else sequence++;
  const time = new Date(lastMillis);
  const iso = time.toISOString(); // ...:05.123Z
  return { timestamp: `${iso.slice(0, -1)}${String(sequence).padStart(6, '0')}Z`, time };
}

/** The log of one container instance; a restart starts a new one. */
export class ContainerLog {
  readonly lines: LogLine[] = [];
  readonly #followers = new Set<{ line: (line: LogLine) => void; end: () => void }>();
  #partial = '';
  #ended = false;

  /** @param maxLines lines kept (older ones are dropped, as log rotation does). */
  constructor(private readonly maxLines = 10_000) {}

  /** Whether the container instance stopped (a follow ends there). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Appends output; complete lines become log lines, a trailing partial line waits. */
  write(chunk: string): void {
    const text = this.#partial + chunk;
    const parts = text.split('\n');
    this.#partial = parts.pop() ?? '';
    for (const part of parts) this.#add(part.replace(/\r$/, ''));
  }

  /** Appends whole lines. */
  appendLines(lines: readonly string[]): void {
    for (const line of lines) this.#add(line);
  }

  #add(text: string): void {
    const line: LogLine = { ...nextTimestamp(), text };
    this.lines.push(line);
    if (this.lines.length > this.maxLines) this.lines.shift();
    for (const follower of [...this.#followers]) follower.line(line);
  }

  /** The container instance stopped: flushes a partial line and ends every follow. */
  end(): void {
    if (this.#ended) return;
    if (this.#partial) this.#add(this.#partial);
    this.#partial = '';
    this.#ended = true;
    for (const follower of [...this.#followers]) follower.end();
    this.#followers.clear();
  }

  /** Calls `line` for every new line until the instance ends (then `end`); returns cancel. */
  follow(line: (line: LogLine) => void, end: () => void): () => void {
    if (this.#ended) {
      end();
      return () => undefined;
    }
    const follower = { line, end };
    this.#followers.add(follower);
    return () => this.#followers.delete(follower);
  }
}
