// The HTTP face of the fake: URL routing as the API server lays it out, bearer-token
// authentication, RBAC verbs recorded per request, JSON and Status answers, chunked watch
// streams and pod log streams.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiServer, DeleteOptions, FieldValidation, PropagationPolicy } from './api.js';
import { isObject, numberAt, stringAt, type JsonObject } from './json.js';
import type { Kubelet } from './kubelet.js';
import type { LogLine } from './logs.js';
import { resourceType, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError, badRequest } from './status.js';
import { bookmark, filterEvent, initialEvents, type WatchFilter, type WireEvent } from './watch.js';
import type { ObjectStore } from './store.js';

/** RBAC verbs, as a Role would have to grant them. */
export type Verb =
  'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** One request the fake received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The RBAC verb (undefined for non-resource URLs such as /version). */
  readonly verb: Verb | undefined;
  /**
   * Every verb a real API server authorizes for this request: the verb, plus `create` for a
   * server-side apply that created the object (apply needs both `patch` and `create` then).
   */
  readonly authorizedVerbs: Verb[];
  /** API group; '' for core. */
  readonly apiGroup: string;
  /** Plural resource name, e.g. `deployments`. */
  readonly resource: string;
  /** `scale`, `status`, `log`, or ''. */
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
  readonly contentType: string;
  /** HTTP status of the answer (0 while a stream is open). */
  code: number;
}

/**
 * Runs before a request is handled. Return a Status-like answer to short-circuit it (fault
 * injection), or undefined to let it through.
 */
export type Interceptor = (
  request: RecordedRequest,
) => { readonly code: number; readonly reason?: string; readonly message?: string } | undefined;

/** What the HTTP layer needs from the fake. */
export interface HttpContext {
  readonly api: ApiServer;
  readonly store: ObjectStore;
  readonly kubelet: Kubelet;
  readonly token: string;
  readonly requests: RecordedRequest[];
  readonly interceptors: Set<Interceptor>;
  readonly watches: Set<OpenWatch>;
  readonly bookmarkIntervalMs: number;
}

/** An open watch stream. */
export interface OpenWatch {
  readonly filter: WatchFilter;
  readonly bookmarks: boolean;
  muted: boolean;
  send(event: WireEvent): void;
  close(): void;
}

interface Route {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly subresource: string;
}

function sendJson(
  response: ServerResponse,
  code: number,
  body: unknown,
  warnings: readonly string[] = [],
): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  };
  if (warnings.length > 0) headers['warning'] = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  response.writeHead(code, headers);
  response.end(text);
}

function sendError(response: ServerResponse, error: ApiError): void {
  sendJson(response, error.code, error.toStatus());
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw badRequest(`the request body is not JSON: ${String(error)}`);
  }
}

/** Splits the path into group, version and the rest, as the API server's mux does. */
function route(path: string): Route | undefined {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let group = '';
  let version = '';
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural = '', name = '', subresource = ''] = rest;
  if (rest.length > 3) return undefined;
  const type = resourceType(group, version, plural);
  if (!type) return undefined;
  if (!type.namespaced && namespace !== undefined) return undefined;
  return { type, namespace, name, subresource };
}

function verbOf(method: string, route: Route, watch: boolean): Verb | undefined {
  const collection = route.name === '';
  switch (method) {
    case 'GET':
      return collection ? (watch ? 'watch' : 'list') : 'get';
    case 'POST':
      return collection ? 'create' : undefined;
    case 'PUT':
      return collection ? undefined : 'update';
    case 'PATCH':
      return collection ? undefined : 'patch';
    case 'DELETE':
      return collection ? 'deletecollection' : 'delete';
    default:
      return undefined;
  }
}

function fieldValidation(query: URLSearchParams): FieldValidation | undefined {
  const value = query.get('fieldValidation');
  if (value === null || value === '') return undefined;
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw badRequest(
    `fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Strict", "Warn"`,
  );
}

function propagation(value: unknown): PropagationPolicy | undefined {
  return value === 'Orphan' || value === 'Background' || value === 'Foreground' ? value : undefined;
}

function deleteOptions(query: URLSearchParams, body: unknown): DeleteOptions {
  const fromBody = isObject(body) ? body : {};
  const preconditions = isObject(fromBody['preconditions']) ? fromBody['preconditions'] : {};
  const grace = query.get('gracePeriodSeconds') ?? numberAt(fromBody, 'gracePeriodSeconds');
  return {
    propagationPolicy: propagation(query.get('propagationPolicy') ?? fromBody['propagationPolicy']),
    gracePeriodSeconds: grace === null || grace === undefined ? undefined : Number(grace),
    resourceVersion: stringAt(preconditions, 'resourceVersion'),
    uid: stringAt(preconditions, 'uid'),
  };
}

/** Handles one request. */
export async function handle(
  context: HttpContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://fake.invalid');
  const method = request.method ?? 'GET';
  if (url.pathname === '/version') {
    sendJson(response, 200, {
      major: '1',
      minor: '34',
      gitVersion: 'v1.34.0-skiff-fake',
      platform: 'linux/amd64',
    });
    return;
  }
  if (['/healthz', '/readyz', '/livez'].includes(url.pathname)) {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  if (request.headers.authorization !== `Bearer ${context.token}`) {
    sendError(response, new ApiError(401, 'Unauthorized', 'Unauthorized'));
    return;
  }
  const target = route(url.pathname);
  const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
  const verb = target ? verbOf(method, target, watch) : undefined;
  const recorded: RecordedRequest = {
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    verb,
    authorizedVerbs: verb ? [verb] : [],
    apiGroup: target?.type.group ?? '',
    resource: target?.type.plural ?? '',
    subresource: target?.subresource ?? '',
    namespace: target?.namespace ?? '',
    name: target?.name ?? '',
    contentType: (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '',
    code: 0,
  };
  context.requests.push(recorded);
  const answer = (code: number) => (recorded.code = code);
  try {
    for (const interceptor of context.interceptors) {
      const result = interceptor(recorded);
      if (result) {
        throw new ApiError(
          result.code,
          result.reason ?? 'InternalError',
          result.message ?? 'injected by a test interceptor',
        );
      }
    }
    if (!target || !verb)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const raw = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? await readBody(request) : '';
    await dispatch(
      context,
      target,
      verb,
      url.searchParams,
      raw,
      recorded.contentType,
      request,
      response,
      answer,
      (v: Verb) => recorded.authorizedVerbs.push(v),
    );
  } catch (error) {
    const apiError =
      error instanceof ApiError
        ? error
        : new ApiError(
            500,
            'InternalError',
            `the fake failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
          );
    answer(apiError.code);
    if (!response.headersSent) sendError(response, apiError);
    else response.end();
  }
}

async function dispatch(
  context: HttpContext,
  target: Route,
  verb: Verb,
  query: URLSearchParams,
  raw: string,
  contentType: string,
  request: IncomingMessage,
  response: ServerResponse,
  answer: (code: number) => void,
  authorize: (verb: Verb) => void,
): Promise<void> {
  const { api } = context;
  const { type, name, subresource } = target;
  const namespace = target.namespace ?? '';
  const write = {
    fieldManager: query.get('fieldManager') ?? undefined,
    fieldValidation: fieldValidation(query),
    dryRun: query.get('dryRun') === 'All',
  };
  const ok = (code: number, body: unknown, warnings: readonly string[] = []) => {
    answer(code);
    sendJson(response, code, body, warnings);
  };
  if (subresource === 'log' && type.kind === 'Pod' && verb === 'get') {
    return streamLog(context, namespace, name, query, request, response, answer);
  }
  if (subresource === 'scale' && type.kind === 'Deployment') {
    if (verb === 'get') return ok(200, api.getScale(type, namespace, name));
    if (verb === 'update')
      return ok(200, api.updateScale(type, namespace, name, parseJson(raw), write));
    if (verb === 'patch')
      return ok(200, api.patchScale(type, namespace, name, contentType, raw, write));
  }
  if (subresource === 'status' && verb === 'get') return ok(200, api.get(type, namespace, name));
  if (subresource !== '')
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const listOptions = {
    labelSelector: query.get('labelSelector') ?? undefined,
    fieldSelector: query.get('fieldSelector') ?? undefined,
    limit: query.has('limit') ? Number(query.get('limit')) : undefined,
    continueToken: query.get('continue') ?? undefined,
    resourceVersion: query.get('resourceVersion') ?? undefined,
    resourceVersionMatch: query.get('resourceVersionMatch') ?? undefined,
  };
  switch (verb) {
    case 'get':
      return ok(200, api.get(type, namespace, name));
    case 'list': {
      const list = api.list(type, target.namespace, listOptions);
      const metadata: JsonObject = { resourceVersion: list.resourceVersion };
      if (list.continueToken) metadata['continue'] = list.continueToken;
      return ok(200, {
        kind: `${type.kind}List`,
        apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
        metadata,
        items: list.items,
      });
    }
    case 'watch':
      return startWatch(context, target, query, request, response, answer);
    case 'create': {
      const result = api.create(type, namespace, parseJson(raw), write);
      return ok(201, result.object, result.warnings);
    }
    case 'update': {
      const result = api.update(type, namespace, name, parseJson(raw), write);
      return ok(200, result.object, result.warnings);
    }
    case 'patch': {
      const result = api.patch(type, namespace, name, contentType, raw, {
        ...write,
        force: query.get('force') === 'true',
      });
      if (result.created) authorize('create');
      return ok(result.created ? 201 : 200, result.object, result.warnings);
    }
    case 'delete': {
      const deleted = api.delete(type, namespace, name, deleteOptions(query, parseJson(raw)));
      if (type.kind === 'Pod') return ok(200, deleted);
      return ok(200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: {
          name,
          group: type.group,
          kind: type.plural,
          uid: stringAt(deleted['metadata'], 'uid'),
        },
      });
    }
    case 'deletecollection': {
      api.deleteCollection(
        type,
        target.namespace,
        listOptions,
        deleteOptions(query, parseJson(raw)),
      );
      return ok(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
    }
  }
}

function startWatch(
  context: HttpContext,
  target: Route,
  query: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
  answer: (code: number) => void,
): void {
  const filter: WatchFilter = {
    resource: target.type,
    namespace: target.namespace,
    labels: parseLabelSelector(query.get('labelSelector') ?? undefined),
    fields: parseFieldSelector(query.get('fieldSelector') ?? undefined, target.type.fieldSelectors),
  };
  answer(200);
  response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  response.flushHeaders();
  const write = (event: WireEvent) => {
    if (!response.writableEnded) response.write(`${JSON.stringify(event)}\n`);
  };
  const first = initialEvents(context.store, filter, query.get('resourceVersion') ?? undefined);
  if (first.length === 1 && first[0]?.type === 'ERROR') {
    write(first[0]);
    response.end();
    return;
  }
  first.forEach(write);
  const timers: NodeJS.Timeout[] = [];
  const watch: OpenWatch = {
    filter,
    bookmarks: query.get('allowWatchBookmarks') === 'true',
    muted: false,
    send: (event) => {
      if (!watch.muted) write(event);
    },
    close: () => {
      unsubscribe();
      timers.forEach(clearTimeout);
      context.watches.delete(watch);
      if (!response.writableEnded) response.end();
    },
  };
  const unsubscribe = context.store.subscribe((event) => {
    const wire = filterEvent(filter, event);
    if (wire) watch.send(wire);
  });
  context.watches.add(watch);
  if (watch.bookmarks && context.bookmarkIntervalMs > 0) {
    const tick = () => {
      watch.send(bookmark(filter.resource, context.store.resourceVersion));
      timers[0] = setTimeout(tick, context.bookmarkIntervalMs);
    };
    timers.push(setTimeout(tick, context.bookmarkIntervalMs));
  }
  const timeout = Number(query.get('timeoutSeconds') ?? '0');
  if (timeout > 0) timers.push(setTimeout(() => watch.close(), timeout * 1_000));
  request.on('close', () => watch.close());
  response.on('close', () => watch.close());
}

function streamLog(
  context: HttpContext,
  namespace: string,
  podName: string,
  query: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
  answer: (code: number) => void,
): void {
  const log = context.kubelet.logOf(
    namespace,
    podName,
    query.get('container') ?? undefined,
    query.get('previous') === 'true',
  );
  const timestamps = query.get('timestamps') === 'true';
  const tail = query.has('tailLines') ? Number(query.get('tailLines')) : undefined;
  const since = query.get('sinceTime');
  const sinceSeconds = query.get('sinceSeconds');
  const limitBytes = query.has('limitBytes') ? Number(query.get('limitBytes')) : undefined;
  let from = 0;
  if (since) from = Math.floor(Date.parse(since) / 1_000) * 1_000;
  else if (sinceSeconds) from = Date.now() - Number(sinceSeconds) * 1_000;
  let lines = log.lines.filter((l) => l.time.getTime() >= from);
  if (tail !== undefined && tail >= 0) lines = tail === 0 ? [] : lines.slice(-tail);
  const format = (line: LogLine) =>
    timestamps ? `${line.timestamp} ${line.text}\n` : `${line.text}\n`;
  let sent = 0;
  const send = (text: string): boolean => {
    if (limitBytes !== undefined && sent + Buffer.byteLength(text) > limitBytes) {
      response.write(Buffer.from(text).subarray(0, Math.max(0, limitBytes - sent)));
      sent = limitBytes;
      return false;
    }
    sent += Buffer.byteLength(text);
    response.write(text);
    return true;
  };
  answer(200);
  response.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
  for (const line of lines) {
    if (!send(format(line))) {
      response.end();
      return;
    }
  }
  if (query.get('follow') !== 'true') {
    response.end();
    return;
  }
  response.flushHeaders();
  const stop = log.follow(
    (line) => {
      if (!response.writableEnded && !send(format(line))) {
        stop();
        response.end();
      }
    },
    () => {
      if (!response.writableEnded) response.end();
    },
  );
  request.on('close', stop);
  response.on('close', stop);
}
