/**
 * Reads a client stream one message at a time, with room to put one message back. This is
 * what lets one request stream be cut into several byte streams (one per model file): a
 * file's reader takes chunk messages until it meets the next `file` message, hands that back,
 * and stops. Nothing is read ahead, so the client's flow control stays intact.
 */
export class MessageCursor<T> {
  readonly #iterator: AsyncIterator<T>;
  #pushedBack: { message: T } | undefined;
  #ended = false;
  #reading = false;

  constructor(source: AsyncIterable<T>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  /** The next message, or undefined once the client half-closed the stream. */
  async next(): Promise<T | undefined> {
    if (this.#pushedBack) {
      const { message } = this.#pushedBack;
      this.#pushedBack = undefined;
      return message;
    }
    if (this.#ended) return undefined;
    // Two readers at once would each see half of the messages; that is always a bug here.
    if (this.#reading) throw new Error('MessageCursor: next() called while a read is pending');
    this.#reading = true;
    try {
      const result = await this.#iterator.next();
      if (result.done) {
        this.#ended = true;
        return undefined;
      }
      return result.value;
    } catch (error) {
      this.#ended = true;
      throw error;
    } finally {
      this.#reading = false;
    }
  }

  /** Gives `message` back: the next {@link MessageCursor.next} returns it again. */
  pushBack(message: T): void {
    if (this.#pushedBack) throw new Error('MessageCursor: only one message can be pushed back');
    this.#pushedBack = { message };
  }

  /**
   * Stops reading: a source that has not ended is told to stop (`return()`), which for a
   * gRPC request stream discards whatever the client still sends. Not awaited, because a
   * source stalled in a pending read would hold us until the client sent again.
   */
  close(): void {
    this.#pushedBack = undefined;
    if (this.#ended) return;
    this.#ended = true;
    void Promise.resolve()
      .then(() => this.#iterator.return?.())
      .catch(() => undefined);
  }
}
