import { connect } from 'node:net';
import { refuseLookup, socketErrorName, type ConnectPolicy } from './connect.js';
import type { CheckContext, CheckOutcome, TcpData } from './model.js';

/** Opens a TCP connection to `address:port` and closes it; never throws. */
export function tcpConnect(
  address: string,
  port: number,
  signal: AbortSignal,
): Promise<{ error?: string }> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ error: 'timeout' });
      return;
    }
    const socket = connect({ host: address, port, lookup: refuseLookup });
    const finish = (result: { error?: string }) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ error: 'timeout' });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({}));
    socket.once('error', (error) => finish({ error: socketErrorName(error) }));
  });
}

/** Inputs of one host's TCP check. */
export interface TcpCheckInput {
  readonly address: string;
  readonly port: number;
  readonly allowConnect: ConnectPolicy;
}

/** Connects to the address DNS (or an override) gave. */
export async function runTcpCheck(
  input: TcpCheckInput,
  context: CheckContext,
): Promise<CheckOutcome> {
  if (!input.allowConnect(input.address)) {
    const data: TcpData = {
      kind: 'tcp',
      address: input.address,
      port: input.port,
      error: 'not-allowed',
    };
    return {
      status: 'skipped',
      detail: `not connecting to ${input.address}: outside the allowed addresses`,
      data,
    };
  }
  const started = context.now();
  const { error } = await tcpConnect(input.address, input.port, context.signal);
  const target = `${input.address}:${input.port}`;
  const data: TcpData = {
    kind: 'tcp',
    address: input.address,
    port: input.port,
    ...(error !== undefined ? { error } : {}),
  };
  if (error === undefined) {
    return {
      status: 'pass',
      detail: `connected to ${target} (${Math.round(context.now() - started)} ms)`,
      data,
    };
  }
  const words = error === 'timeout' ? `timed out after ${context.timeoutMs} ms` : error;
  return { status: 'fail', detail: `${target}: ${words}`, data };
}
