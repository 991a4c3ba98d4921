import { request } from 'node:https';
import { isIP } from 'node:net';
import { refuseLookup, socketErrorName, type ConnectPolicy } from './connect.js';
import type { CheckContext, CheckOutcome, HttpData } from './model.js';
import { secureContextFor } from './tls.js';

/** Inputs of one host's HTTP probe. */
export interface HttpCheckInput {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly path: string;
  readonly expectStatus?: readonly number[];
  /** Roots to verify against (undefined: not verified, as in the TLS check). */
  readonly roots: readonly string[] | undefined;
  readonly allowConnect: ConnectPolicy;
}

/**
 * Sends `GET path` over HTTPS to the address already resolved, with the host's name for SNI
 * and the Host header. Never goes through a proxy: it probes the direct path.
 */
export function runHttpCheck(input: HttpCheckInput, context: CheckContext): Promise<CheckOutcome> {
  const authority = input.port === 443 ? input.host : `${input.host}:${input.port}`;
  const expected = input.expectStatus ?? 'below-500';
  const base: HttpData = { kind: 'http', url: `https://${authority}${input.path}`, expected };
  if (!input.allowConnect(input.address)) {
    return Promise.resolve({
      status: 'skipped',
      detail: `not connecting to ${input.address}`,
      data: { ...base, error: 'not-allowed' },
    });
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: CheckOutcome) => {
      if (settled) return;
      settled = true;
      context.signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(outcome);
    };
    const req = request({
      host: input.address,
      port: input.port,
      path: input.path,
      method: 'GET',
      headers: { host: authority, 'user-agent': 'skiff-doctor' },
      ...(isIP(input.host) === 0 ? { servername: input.host } : {}),
      ...(input.roots !== undefined ? { secureContext: secureContextFor(input.roots) } : {}),
      rejectUnauthorized: input.roots !== undefined,
      agent: false,
      lookup: refuseLookup,
    });
    const onAbort = () =>
      finish({
        status: 'fail',
        detail: `no HTTP answer within ${context.timeoutMs} ms`,
        data: { ...base, error: 'timeout' },
      });
    if (context.signal.aborted) {
      onAbort();
      return;
    }
    context.signal.addEventListener('abort', onAbort, { once: true });
    req.once('error', (error) => {
      const name = socketErrorName(error);
      finish({
        status: 'fail',
        detail: `GET ${input.path}: ${name}`,
        data: { ...base, error: name },
      });
    });
    req.once('response', (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      const ok = expected === 'below-500' ? status < 500 : expected.includes(status);
      const data: HttpData = { ...base, status };
      finish(
        ok
          ? { status: 'pass', detail: `GET ${input.path} → ${status}`, data }
          : {
              status: 'fail',
              detail: `GET ${input.path} → ${status}, expected ${expected === 'below-500' ? 'below 500' : expected.join(' or ')}`,
              data,
            },
      );
    });
    req.end();
  });
}
