/**
 * Tracks events received in order and handled in any order, and reports the last id of the
 * longest handled prefix each time it grows: the position a reader may resume after without
 * skipping an event that is still being handled.
 */
export class HandledPrefix {
  private readonly pending: Array<{ id: string; done: boolean }> = [];

  constructor(private readonly onAdvance: (id: string) => void) {}

  /** An event arrived (call in arrival order). */
  received(id: string): void {
    this.pending.push({ id, done: false });
  }

  /** An event was handled (in any order). */
  done(id: string): void {
    const entry = this.pending.find((e) => e.id === id && !e.done);
    if (!entry) return;
    entry.done = true;
    let last: string | undefined;
    while (this.pending[0]?.done) last = this.pending.shift()?.id;
    if (last !== undefined) this.onAdvance(last);
  }
}
