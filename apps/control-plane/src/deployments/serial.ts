/**
 * Runs tasks one after another per key (tasks of different keys run concurrently). A failing
 * task does not stop the ones queued after it.
 */
export class PerKeySerial {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with queued or running tasks (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}
