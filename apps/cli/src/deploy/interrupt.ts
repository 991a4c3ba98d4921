/** An AbortSignal that fires on Ctrl-C (SIGINT) while a command waits; dispose it after. */
export interface Interrupt {
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * Turns the next SIGINT into an abort instead of the process's default exit, so a command
 * that waits (deploy, logs --follow) can stop waiting and say what goes on without it.
 */
export function interruptOnSigint(): Interrupt {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return {
    signal: controller.signal,
    dispose: () => process.removeListener('SIGINT', onSigint),
  };
}
