import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** One variable: its schema, what it means, and its default for --help. */
interface Variable {
  schema: z.ZodType;
  help: string;
}

const hostPort = (name: string) =>
  z
    .string()
    .regex(
      /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/,
      `${name}: expected host:port, e.g. 127.0.0.1:50051`,
    );
const dnsLabel = (name: string) =>
  z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, `${name}: expected a DNS label (a-z, 0-9, -)`);
const integer = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name}: expected an integer` })
    .int(`${name}: expected an integer`)
    .min(min, `${name}: expected at least ${min}`)
    .max(max, `${name}: expected at most ${max}`);

/**
 * Every environment variable the agent reads. The agent parses them once at start; --help
 * prints this table.
 */
export const AGENT_VARIABLES = {
  SKIFF_ENDPOINT: {
    schema: hostPort('SKIFF_ENDPOINT').default('127.0.0.1:50051'),
    help: 'control plane gRPC address (host:port)',
  },
  SKIFF_TOKEN: {
    schema: z
      .string({
        error: 'SKIFF_TOKEN: required, the agent credential (role AGENT) of this compute target',
      })
      .min(1, 'SKIFF_TOKEN: required, the agent credential (role AGENT) of this compute target'),
    help: 'agent credential (role AGENT, bound to the compute target); required',
  },
  SKIFF_WORKSPACE: {
    schema: dnsLabel('SKIFF_WORKSPACE'),
    help: 'workspace of the compute target; required',
  },
  SKIFF_COMPUTE: {
    schema: dnsLabel('SKIFF_COMPUTE'),
    help: 'compute target this agent serves; required',
  },
  SKIFF_NODE_NAME: {
    schema: z.string().min(1).max(253).default(hostname()),
    help: 'Kubernetes node name (downward API) or host name; default: the host name',
  },
  REDIS_URL: {
    schema: z
      .string()
      .url('REDIS_URL: expected a URL like redis://127.0.0.1:6379')
      .default('redis://127.0.0.1:6379'),
    help: "Redis holding the compute target's queue; the user and password come from RegisterAgent unless the URL has them",
  },
  SKIFF_RUNTIME: {
    schema: z.enum(['local']).default('local'),
    help: 'where replicas run: local (child processes on this machine)',
  },
  SKIFF_STATE_DIR: {
    schema: z.string().min(1).default(join('.skiff', 'agent')),
    help: "replicas' state directories and logs (local runtime); default .skiff/agent",
  },
  SKIFF_CACHE_DIR: {
    schema: z.string().min(1).optional(),
    help: 'node-local artifact cache; default <SKIFF_STATE_DIR>/cache',
  },
  SKIFF_CACHE_MAX_BYTES: {
    schema: integer('SKIFF_CACHE_MAX_BYTES', 1, Number.MAX_SAFE_INTEGER).default(10 * 1024 ** 3),
    help: 'largest size of the artifact cache before the least recently used entries go; default 10 GiB',
  },
  SKIFF_SCORING_SERVER: {
    schema: z.string().min(1).optional(),
    help: 'the skiff-scoring-server bin replicas run; default: the one installed beside the agent',
  },
  SKIFF_PYTHON: {
    schema: z.string().min(1).optional(),
    help: 'python interpreter of Python entry scripts (local runtime); default python3',
  },
  SKIFF_JOB_CONCURRENCY: {
    schema: integer('SKIFF_JOB_CONCURRENCY', 1, 64).default(4),
    help: 'jobs worked at once (jobs of one service never run at once); default 4',
  },
  SKIFF_JOB_LOCK_MS: {
    schema: integer('SKIFF_JOB_LOCK_MS', 1_000, 600_000).default(30_000),
    help: "how long a job stays locked without renewal: a dead agent's job moves on after about this long; default 30000",
  },
  SKIFF_HTTP_LISTEN: {
    schema: hostPort('SKIFF_HTTP_LISTEN').default('127.0.0.1:9465'),
    help: '/healthz, /readyz and /metrics; default 127.0.0.1:9465',
  },
  SKIFF_LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    help: 'pino level; default info',
  },
} satisfies Record<string, Variable>;

const schema = z.object(
  Object.fromEntries(Object.entries(AGENT_VARIABLES).map(([name, v]) => [name, v.schema])) as {
    [K in keyof typeof AGENT_VARIABLES]: (typeof AGENT_VARIABLES)[K]['schema'];
  },
);

/** The agent's configuration, parsed once at start. */
export type AgentEnv = z.infer<typeof schema>;

/** A bad environment: the message lists every bad variable with what was expected. */
export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

/** Parses the agent's environment. @throws AgentConfigError */
export function parseAgentEnv(env: NodeJS.ProcessEnv): AgentEnv {
  const present = Object.fromEntries(
    Object.keys(AGENT_VARIABLES)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  throw new AgentConfigError(
    result.error.issues
      .map((issue) => {
        const variable = String(issue.path[0] ?? '');
        return issue.message.startsWith(variable) ? issue.message : `${variable}: ${issue.message}`;
      })
      .join('\n'),
  );
}

/** The --help text: usage and every variable with its meaning and default. */
export function agentHelp(): string {
  const width = Math.max(...Object.keys(AGENT_VARIABLES).map((name) => name.length));
  const rows = Object.entries(AGENT_VARIABLES).map(
    ([name, v]) => `  ${name.padEnd(width)}  ${v.help}`,
  );
  return [
    'Usage: skiff-agent [--help]',
    '',
    "Runs the replicas of a compute target's web services: takes its deploy, scale and delete",
    'jobs, reports replicas and ships their logs to the control plane. Configured by the',
    'environment:',
    '',
    ...rows,
    '',
    'Exit codes: 0 stopped by SIGTERM/SIGINT, 2 bad configuration, 1 any other failure.',
    '',
  ].join('\n');
}
