// One HTTP exchange with a registry or token service: a deadline for the answer's headers (a
// blob body may stream for as long as it takes), the caller's abort signal, redirects followed
// by hand so that credentials never travel to another origin, and network failures turned into
// RegistryUnavailable errors that name the host.
import { RegistryError } from './errors.js';

/** What a request is about, for error messages. */
export interface RequestContext {
  /** `workspace registry`, `global registry`, `token service`. */
  readonly role: string;
  /** `host[:port]` the request goes to. */
  readonly registry: string;
  readonly repository?: string | undefined;
  /** What was being done: `HEAD manifest v1-…`, `upload blob sha256:…`. */
  readonly operation: string;
}

/** Options of {@link send}. */
export interface SendOptions {
  readonly method: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | string | undefined;
  /** Deadline for the response headers, ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Headers dropped when a redirect leaves the origin (the credentials). */
  readonly originBoundHeaders?: readonly string[];
}

const MAX_REDIRECTS = 5;

/** Sends one request and follows redirects (301, 302, 303, 307, 308). */
export async function send(
  url: string,
  options: SendOptions,
  context: RequestContext,
): Promise<Response> {
  let target = new URL(url);
  const origin = target.origin;
  let method = options.method;
  let body = options.body;
  let headers = { ...options.headers };
  for (let hop = 0; ; hop++) {
    const response = await sendOnce(target, method, headers, body, options, context);
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || location === null) return response;
    if (hop === MAX_REDIRECTS) {
      throw new RegistryError(
        `${describe(context)}: more than ${MAX_REDIRECTS} redirects, last to ${location}`,
        {
          code: 'RegistryRequestFailed',
          registry: context.registry,
          repository: context.repository,
          status: response.status,
        },
      );
    }
    await response.body?.cancel();
    target = new URL(location, target);
    if (
      response.status === 303 ||
      (method === 'POST' && response.status !== 307 && response.status !== 308)
    ) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
    }
    if (target.origin !== origin) {
      const drop = new Set(
        (options.originBoundHeaders ?? ['authorization']).map((h) => h.toLowerCase()),
      );
      headers = Object.fromEntries(
        Object.entries(headers).filter(([name]) => !drop.has(name.toLowerCase())),
      );
    }
  }
}

async function sendOnce(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array | string | undefined,
  options: SendOptions,
  context: RequestContext,
): Promise<Response> {
  options.signal?.throwIfAborted();
  // The deadline covers the headers only; the caller's signal also covers the streaming body.
  const deadline = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, deadline.signal])
    : deadline.signal;
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
  try {
    return await fetch(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    const reason = deadline.signal.aborted
      ? `did not answer within ${options.timeoutMs < 1000 ? `${options.timeoutMs} ms` : `${Math.round(options.timeoutMs / 1000)} s`}`
      : `is unreachable (${networkReason(error)})`;
    throw new RegistryError(
      `${context.role} ${context.registry} ${reason}: ${method} ${url.href}`,
      {
        code: 'RegistryUnavailable',
        registry: context.registry,
        repository: context.repository,
        cause: error,
      },
    );
  } finally {
    clearTimeout(timer);
  }
}

function networkReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string') {
    return cause.code;
  }
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** `workspace registry 127.0.0.1:5000 (repository skiff/env, HEAD manifest v1-…)`. */
export function describe(context: RequestContext): string {
  const repository = context.repository === undefined ? '' : `repository ${context.repository}, `;
  return `${context.role} ${context.registry} (${repository}${context.operation})`;
}

/**
 * The first error of a distribution error body (`{"errors":[{"code","message","detail"}]}`), or
 * a short excerpt of any other body; empty when there is none.
 */
export async function errorSummary(response: Response): Promise<string> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return '';
  }
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = parsed.errors?.[0];
    if (first) {
      const parts = [first.code, first.message].filter((part) => typeof part === 'string');
      if (parts.length > 0) return parts.join(': ');
    }
  } catch {
    // not JSON
  }
  const excerpt = text.trim().replace(/\s+/g, ' ');
  return excerpt.length > 200 ? `${excerpt.slice(0, 200)}…` : excerpt;
}
