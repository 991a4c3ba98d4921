import { hostname } from 'node:os';
import { z } from 'zod';

/** One variable: its schema and what it means (with its default) for --help. */
interface Variable {
  schema: z.ZodType;
  help: string;
}

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/;
const hostPort = (name: string) =>
  z
    .string({ error: `${name}: required, host:port` })
    .regex(HOST_PORT, `${name}: expected host:port, e.g. 127.0.0.1:8080`);
const dnsLabel = (name: string) =>
  z
    .string({ error: `${name}: required, a DNS label` })
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, `${name}: expected a DNS label (a-z, 0-9, -)`);
const integer = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name}: expected an integer` })
    .int(`${name}: expected an integer`)
    .min(min, `${name}: expected at least ${min}`)
    .max(max, `${name}: expected at most ${max}`);
const required = (name: string, what: string) =>
  z.string({ error: `${name}: required, ${what}` }).min(1, `${name}: required, ${what}`);

/**
 * Every environment variable the router reads. It parses them once at start; --help prints
 * this table. `--tls-cert PATH` / `--tls-key PATH` override SKIFF_TLS_CERT / SKIFF_TLS_KEY.
 */
export const ROUTER_VARIABLES = {
  SKIFF_ENDPOINT: {
    schema: hostPort('SKIFF_ENDPOINT'),
    help: 'control plane gRPC address (host:port); required',
  },
  SKIFF_TOKEN: {
    schema: required('SKIFF_TOKEN', 'the agent credential (role AGENT) of this compute target'),
    help: 'credential of role AGENT bound to the compute target (skf_...); required',
  },
  SKIFF_WORKSPACE: {
    schema: dnsLabel('SKIFF_WORKSPACE'),
    help: 'workspace of the compute target; required',
  },
  SKIFF_COMPUTE: {
    schema: dnsLabel('SKIFF_COMPUTE'),
    help: 'compute target whose services this router serves; required',
  },
  SKIFF_ROUTER_ID: {
    schema: z.string().min(1).max(253).default(`${hostname()}-${process.pid}`),
    help: 'this router in load reports; default <hostname>-<pid>',
  },
  SKIFF_ROUTER_LISTEN: {
    schema: hostPort('SKIFF_ROUTER_LISTEN').default('127.0.0.1:8080'),
    help: 'HTTP listener (scoring, /healthz, /readyz, /metrics); default 127.0.0.1:8080',
  },
  SKIFF_ROUTER_TLS_LISTEN: {
    schema: hostPort('SKIFF_ROUTER_TLS_LISTEN').optional(),
    help: 'HTTPS listener (needs SKIFF_TLS_CERT and SKIFF_TLS_KEY); default none',
  },
  SKIFF_TLS_CERT: {
    schema: z.string().min(1).optional(),
    help: 'PEM certificate chain of the HTTPS listener (or --tls-cert); reloaded on change',
  },
  SKIFF_TLS_KEY: {
    schema: z.string().min(1).optional(),
    help: 'PEM private key of the HTTPS listener (or --tls-key); reloaded on change',
  },
  SKIFF_TLS_RELOAD_INTERVAL_MS: {
    schema: integer('SKIFF_TLS_RELOAD_INTERVAL_MS', 100, 3_600_000).default(1_000),
    help: 'how often the certificate and key files are checked for changes; default 1000',
  },
  SKIFF_ROUTER_HEADERS_TIMEOUT_MS: {
    schema: integer('SKIFF_ROUTER_HEADERS_TIMEOUT_MS', 100, 600_000).default(30_000),
    help: "time a client has to send a request's headers; default 30000",
  },
  SKIFF_ROUTER_IDLE_TIMEOUT_MS: {
    schema: integer('SKIFF_ROUTER_IDLE_TIMEOUT_MS', 100, 3_600_000).default(60_000),
    help: 'longest pause while a request or response body streams (→ 408 / closed); default 60000',
  },
  SKIFF_ROUTER_KEEPALIVE_TIMEOUT_MS: {
    schema: integer('SKIFF_ROUTER_KEEPALIVE_TIMEOUT_MS', 100, 3_600_000).default(65_000),
    help: 'how long an idle client connection stays open; default 65000',
  },
  SKIFF_ROUTER_DRAIN_TIMEOUT_MS: {
    schema: integer('SKIFF_ROUTER_DRAIN_TIMEOUT_MS', 0, 3_600_000).default(30_000),
    help: 'on SIGTERM/SIGINT, how long requests in flight may take to finish; default 30000',
  },
  SKIFF_ROUTER_STARTUP_WAIT_MS: {
    schema: integer('SKIFF_ROUTER_STARTUP_WAIT_MS', 0, 600_000).default(10_000),
    help: 'a request that arrives before the first routing table waits this long for it (then 503); default 10000',
  },
  SKIFF_ROUTER_AUTH_FAILURE_LIMIT: {
    schema: integer('SKIFF_ROUTER_AUTH_FAILURE_LIMIT', 1, 1_000_000).default(20),
    help: 'auth failures one client address may have per window before it gets 429; default 20',
  },
  SKIFF_ROUTER_AUTH_FAILURE_WINDOW_MS: {
    schema: integer('SKIFF_ROUTER_AUTH_FAILURE_WINDOW_MS', 100, 86_400_000).default(60_000),
    help: 'the window of SKIFF_ROUTER_AUTH_FAILURE_LIMIT; default 60000',
  },
  SKIFF_ROUTER_LOAD_REPORT_MS: {
    schema: integer('SKIFF_ROUTER_LOAD_REPORT_MS', 50, 1_000).default(500),
    help: 'interval of load reports to the control plane while there is demand; default 500',
  },
  SKIFF_ROUTER_UPSTREAM_SOCKETS: {
    schema: integer('SKIFF_ROUTER_UPSTREAM_SOCKETS', 1, 100_000).default(256),
    help: 'most idle keep-alive connections kept per replica; default 256',
  },
  SKIFF_LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    help: 'pino level; default info',
  },
} satisfies Record<string, Variable>;

const schema = z.object(
  Object.fromEntries(Object.entries(ROUTER_VARIABLES).map(([name, v]) => [name, v.schema])) as {
    [K in keyof typeof ROUTER_VARIABLES]: (typeof ROUTER_VARIABLES)[K]['schema'];
  },
);

/** The router's environment, parsed once at start. */
export type RouterEnv = z.infer<typeof schema>;

/** A listener address. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** The router's configuration: the environment with flags applied and addresses split. */
export interface RouterConfig {
  readonly endpoint: string;
  readonly token: string;
  readonly workspace: string;
  readonly compute: string;
  readonly routerId: string;
  /** HTTP listener; always present. */
  readonly listen: ListenAddress;
  /** HTTPS listener with its PEM files, when configured. */
  readonly tls?: {
    readonly listen: ListenAddress;
    readonly certPath: string;
    readonly keyPath: string;
    readonly reloadIntervalMs: number;
  };
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** How long a request that arrives before the first routing table waits for one. */
  readonly startupWaitMs: number;
  readonly authFailureLimit: number;
  readonly authFailureWindowMs: number;
  readonly loadReportMs: number;
  readonly upstreamSockets: number;
  readonly logLevel: RouterEnv['SKIFF_LOG_LEVEL'];
}

/** A bad environment or flag: the message lists every problem, naming the variable. */
export class RouterConfigError extends Error {
  override readonly name = 'RouterConfigError';
}

/** Splits `host:port` (IPv6 in brackets) into its parts. */
export function parseListen(value: string): ListenAddress {
  const colon = value.lastIndexOf(':');
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(value.slice(colon + 1)) };
}

/** Reads `--tls-cert PATH` / `--tls-key PATH` (also `--flag=PATH`). @throws RouterConfigError */
export function parseRouterFlags(argv: readonly string[]): { tlsCert?: string; tlsKey?: string } {
  const flags: { tlsCert?: string; tlsKey?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [name, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (name !== '--tls-cert' && name !== '--tls-key') {
      throw new RouterConfigError(`unknown argument '${arg}'`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value === '')
      throw new RouterConfigError(`${name}: expected a path`);
    if (name === '--tls-cert') flags.tlsCert = value;
    else flags.tlsKey = value;
  }
  return flags;
}

/** Parses the router's environment and flags. @throws RouterConfigError */
export function parseRouterConfig(
  env: NodeJS.ProcessEnv,
  argv: readonly string[] = [],
): RouterConfig {
  const flags = parseRouterFlags(argv);
  const present = Object.fromEntries(
    Object.keys(ROUTER_VARIABLES)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  if (flags.tlsCert) present['SKIFF_TLS_CERT'] = flags.tlsCert;
  if (flags.tlsKey) present['SKIFF_TLS_KEY'] = flags.tlsKey;
  const result = schema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '');
      return issue.message.startsWith(variable) ? issue.message : `${variable}: ${issue.message}`;
    });
    throw new RouterConfigError([...new Set(lines)].join('\n'));
  }
  const e = result.data;
  const tlsProblems: string[] = [];
  if (e.SKIFF_ROUTER_TLS_LISTEN) {
    if (!e.SKIFF_TLS_CERT) tlsProblems.push('SKIFF_TLS_CERT: required by SKIFF_ROUTER_TLS_LISTEN');
    if (!e.SKIFF_TLS_KEY) tlsProblems.push('SKIFF_TLS_KEY: required by SKIFF_ROUTER_TLS_LISTEN');
  } else if (e.SKIFF_TLS_CERT || e.SKIFF_TLS_KEY) {
    tlsProblems.push('SKIFF_ROUTER_TLS_LISTEN: required when a TLS certificate or key is given');
  }
  if (tlsProblems.length > 0) throw new RouterConfigError(tlsProblems.join('\n'));
  return {
    endpoint: e.SKIFF_ENDPOINT,
    token: e.SKIFF_TOKEN,
    workspace: e.SKIFF_WORKSPACE,
    compute: e.SKIFF_COMPUTE,
    routerId: e.SKIFF_ROUTER_ID,
    listen: parseListen(e.SKIFF_ROUTER_LISTEN),
    ...(e.SKIFF_ROUTER_TLS_LISTEN && e.SKIFF_TLS_CERT && e.SKIFF_TLS_KEY
      ? {
          tls: {
            listen: parseListen(e.SKIFF_ROUTER_TLS_LISTEN),
            certPath: e.SKIFF_TLS_CERT,
            keyPath: e.SKIFF_TLS_KEY,
            reloadIntervalMs: e.SKIFF_TLS_RELOAD_INTERVAL_MS,
          },
        }
      : {}),
    headersTimeoutMs: e.SKIFF_ROUTER_HEADERS_TIMEOUT_MS,
    idleTimeoutMs: e.SKIFF_ROUTER_IDLE_TIMEOUT_MS,
    keepAliveTimeoutMs: e.SKIFF_ROUTER_KEEPALIVE_TIMEOUT_MS,
    drainTimeoutMs: e.SKIFF_ROUTER_DRAIN_TIMEOUT_MS,
    startupWaitMs: e.SKIFF_ROUTER_STARTUP_WAIT_MS,
    authFailureLimit: e.SKIFF_ROUTER_AUTH_FAILURE_LIMIT,
    authFailureWindowMs: e.SKIFF_ROUTER_AUTH_FAILURE_WINDOW_MS,
    loadReportMs: e.SKIFF_ROUTER_LOAD_REPORT_MS,
    upstreamSockets: e.SKIFF_ROUTER_UPSTREAM_SOCKETS,
    logLevel: e.SKIFF_LOG_LEVEL,
  };
}

/** The --help text: usage and every variable with its meaning and default. */
export function routerHelp(): string {
  const width = Math.max(...Object.keys(ROUTER_VARIABLES).map((name) => name.length));
  const rows = Object.entries(ROUTER_VARIABLES).map(
    ([name, v]) => `  ${name.padEnd(width)}  ${v.help}`,
  );
  return [
    'Usage: skiff-router [--tls-cert PATH --tls-key PATH] [--help]',
    '',
    "Serves a compute target's scoring URLs (/api/v1/service/<name>/score and /swagger.json):",
    'authenticates each request, queues it for a free replica slot and streams it through.',
    'Follows the control plane’s routing table and reports its queue. Configured by the',
    'environment:',
    '',
    ...rows,
    '',
    'Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad configuration, 1 any other failure.',
    '',
  ].join('\n');
}
