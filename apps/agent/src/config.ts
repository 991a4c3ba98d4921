import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  BUILDKIT_IMAGE,
  DEFAULT_ARTIFACT_CACHE_HOST_PATH,
  DEFAULT_WAIT_IMAGE,
} from '@skiff/workload';
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

const labelList = (name: string, max = 63) =>
  z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    )
    .pipe(
      z
        .array(
          z
            .string()
            .max(max, `${name}: expected names of at most ${max} characters`)
            .regex(
              /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/,
              `${name}: expected comma-separated DNS names (a-z, 0-9, -)`,
            ),
        )
        .min(1, `${name}: expected at least one name`),
    );
const absolutePath = (name: string) =>
  z.string().regex(/^\/./, `${name}: expected an absolute path, e.g. /var/lib/skiff/cache`);

/** Where environment images live: `<scheme>://<registry>/<repository>`. */
export interface RegistryUrl {
  readonly scheme: 'http' | 'https';
  /** `host[:port]`. */
  readonly registry: string;
  readonly repository: string;
}

/** Repository of environment images when the registry URL names none. */
export const DEFAULT_ENVIRONMENT_REPOSITORY = 'skiff/environments';
/** Image the generated Dockerfiles copy the scoring runtime from (see deploy/). */
export const DEFAULT_SCORING_RUNTIME_IMAGE = 'skiff/scoring-runtime:0.1.0';

const REPOSITORY =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

const registryUrl = (name: string) =>
  z.string().transform((text, context): RegistryUrl => {
    const fail = (why: string) => {
      context.addIssue({
        code: 'custom',
        message: `${name}: ${why}, e.g. https://myacr.azurecr.io/skiff/environments or http://127.0.0.1:5000/skiff/environments`,
      });
      return z.NEVER;
    };
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return fail('expected a URL with scheme, host and repository');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return fail(`expected http:// or https://, not ${url.protocol}//`);
    if (url.username || url.password || url.search || url.hash)
      return fail('expected no credentials, query or fragment in the URL');
    const repository = url.pathname.replace(/^\/+|\/+$/g, '') || DEFAULT_ENVIRONMENT_REPOSITORY;
    if (!REPOSITORY.test(repository) || repository.length > 255)
      return fail(
        `${JSON.stringify(repository)} is not a repository path (lower case, / separated)`,
      );
    return { scheme: url.protocol === 'http:' ? 'http' : 'https', registry: url.host, repository };
  });
const registryAuth = (name: string) =>
  z.enum(['anonymous', 'basic', 'acr'], { error: `${name}: expected anonymous, basic or acr` });

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
    schema: z
      .enum(['local', 'kubernetes'], {
        error: 'SKIFF_RUNTIME: expected local or kubernetes',
      })
      .default('local'),
    help: 'where replicas run: local (child processes on this machine) or kubernetes (a Deployment + Service per web service, the agent as a DaemonSet); default local',
  },
  SKIFF_STATE_DIR: {
    schema: z.string().min(1).default(join('.skiff', 'agent')),
    help: "replicas' state directories and logs (local runtime); default .skiff/agent",
  },
  SKIFF_CACHE_DIR: {
    schema: z.string().min(1).optional(),
    help: "node-local artifact cache (kubernetes: the agent's mount of SKIFF_CACHE_HOST_PATH); default <SKIFF_STATE_DIR>/cache",
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
  SKIFF_KUBECONFIG: {
    schema: z.string().min(1).optional(),
    help: "kubernetes: a kubeconfig file (its current context); default the pod's ServiceAccount (in-cluster)",
  },
  SKIFF_NAMESPACE: {
    schema: dnsLabel('SKIFF_NAMESPACE').default('skiff'),
    help: "kubernetes: the agent's own namespace (downward API), where environment build Jobs run; default skiff",
  },
  SKIFF_NAMESPACES: {
    schema: labelList('SKIFF_NAMESPACES').optional(),
    help: 'kubernetes: namespaces whose web services this agent runs, comma-separated, each granted by the Role there; default SKIFF_NAMESPACE',
  },
  SKIFF_CACHE_HOST_PATH: {
    schema: absolutePath('SKIFF_CACHE_HOST_PATH').default(DEFAULT_ARTIFACT_CACHE_HOST_PATH),
    help: `kubernetes: the node directory that holds SKIFF_CACHE_DIR (the agent's hostPath volume); replicas mount their artifacts from it; default ${DEFAULT_ARTIFACT_CACHE_HOST_PATH}`,
  },
  SKIFF_ARTIFACT_WAIT_IMAGE: {
    schema: z.string().min(1).default(DEFAULT_WAIT_IMAGE),
    help: `kubernetes: image of the replicas' init container that waits until this node's agent has their artifacts (needs sh and sleep); default ${DEFAULT_WAIT_IMAGE}`,
  },
  SKIFF_IMAGE_PULL_SECRETS: {
    schema: labelList('SKIFF_IMAGE_PULL_SECRETS', 253).optional(),
    help: "kubernetes: Secrets replicas pull environment images with, comma-separated; default none (the nodes' credentials)",
  },
  SKIFF_WORKSPACE_REGISTRY: {
    schema: registryUrl('SKIFF_WORKSPACE_REGISTRY').optional(),
    help: 'kubernetes: where environment images are looked up first and pushed to, as https://host[:port]/repository (http:// for a plain-HTTP registry); required with SKIFF_RUNTIME=kubernetes',
  },
  SKIFF_WORKSPACE_REGISTRY_AUTH: {
    schema: registryAuth('SKIFF_WORKSPACE_REGISTRY_AUTH').optional(),
    help: 'kubernetes: anonymous, basic (username and password: HTTP Basic or a token service) or acr (Entra ID through @azure/identity); default basic with a username, else anonymous',
  },
  SKIFF_WORKSPACE_REGISTRY_USERNAME: {
    schema: z.string().min(1).optional(),
    help: 'kubernetes: user name for the workspace registry',
  },
  SKIFF_WORKSPACE_REGISTRY_PASSWORD: {
    schema: z.string().min(1).optional(),
    help: 'kubernetes: password for the workspace registry (from a Secret)',
  },
  SKIFF_GLOBAL_REGISTRY: {
    schema: registryUrl('SKIFF_GLOBAL_REGISTRY').optional(),
    help: 'kubernetes: a registry shared by every workspace, looked up second (a hit is copied into the workspace registry), as https://host[:port]/repository; default none',
  },
  SKIFF_GLOBAL_REGISTRY_AUTH: {
    schema: registryAuth('SKIFF_GLOBAL_REGISTRY_AUTH').optional(),
    help: 'kubernetes: as SKIFF_WORKSPACE_REGISTRY_AUTH, for the global registry',
  },
  SKIFF_GLOBAL_REGISTRY_USERNAME: {
    schema: z.string().min(1).optional(),
    help: 'kubernetes: user name for the global registry',
  },
  SKIFF_GLOBAL_REGISTRY_PASSWORD: {
    schema: z.string().min(1).optional(),
    help: 'kubernetes: password for the global registry (from a Secret)',
  },
  SKIFF_ACR_CLIENT_ID: {
    schema: z.string().min(1).optional(),
    help: "kubernetes: client id of the user-assigned managed identity for registries with auth acr; default DefaultAzureCredential's choice",
  },
  SKIFF_SCORING_RUNTIME_IMAGE: {
    schema: z.string().min(1).default(DEFAULT_SCORING_RUNTIME_IMAGE),
    help: `kubernetes: the image every built environment copies the scoring runtime from (/opt/skiff/runtime); pin it by digest; default ${DEFAULT_SCORING_RUNTIME_IMAGE}`,
  },
  SKIFF_BUILDKIT_IMAGE: {
    schema: z.string().min(1).default(BUILDKIT_IMAGE),
    help: `kubernetes: the rootless BuildKit image of environment build Jobs; default ${BUILDKIT_IMAGE}`,
  },
  SKIFF_BUILD_REGISTRY_SECRET: {
    schema: z.string().min(1).max(253).optional(),
    help: 'kubernetes: a kubernetes.io/dockerconfigjson Secret in SKIFF_NAMESPACE that build Jobs push (and pull private base images) with; default none',
  },
  SKIFF_BUILD_SERVICE_ACCOUNT: {
    schema: z.string().min(1).max(253).optional(),
    help: "kubernetes: service account of build Jobs; default the namespace's default one (its token is not mounted)",
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
  if (!result.success) {
    throw new AgentConfigError(
      result.error.issues
        .map((issue) => {
          const variable = String(issue.path[0] ?? '');
          return issue.message.startsWith(variable)
            ? issue.message
            : `${variable}: ${issue.message}`;
        })
        .join('\n'),
    );
  }
  const problems = crossCheck(result.data, env);
  if (problems.length > 0) throw new AgentConfigError(problems.join('\n'));
  return result.data;
}

/** Rules between variables (each message names the variable to set). */
function crossCheck(config: AgentEnv, env: NodeJS.ProcessEnv): string[] {
  if (config.SKIFF_RUNTIME !== 'kubernetes') return [];
  const problems: string[] = [];
  if (!config.SKIFF_KUBECONFIG && !env['KUBERNETES_SERVICE_HOST']) {
    problems.push(
      'SKIFF_KUBECONFIG: required with SKIFF_RUNTIME=kubernetes outside a cluster (no KUBERNETES_SERVICE_HOST: not in a pod with a ServiceAccount)',
    );
  }
  if (!config.SKIFF_WORKSPACE_REGISTRY) {
    problems.push(
      'SKIFF_WORKSPACE_REGISTRY: required with SKIFF_RUNTIME=kubernetes (replicas run environment images found or built there), e.g. https://myacr.azurecr.io/skiff/environments',
    );
  }
  for (const which of ['WORKSPACE', 'GLOBAL'] as const) {
    const auth = config[`SKIFF_${which}_REGISTRY_AUTH`];
    const username = config[`SKIFF_${which}_REGISTRY_USERNAME`];
    const password = config[`SKIFF_${which}_REGISTRY_PASSWORD`];
    if ((auth === 'basic' || (auth === undefined && username)) && (!username || !password)) {
      const missing = username ? 'PASSWORD' : 'USERNAME';
      problems.push(
        `SKIFF_${which}_REGISTRY_${missing}: required with basic authentication to the ${which.toLowerCase()} registry`,
      );
    }
    if ((auth === 'acr' || auth === 'anonymous') && (username || password)) {
      problems.push(
        `SKIFF_${which}_REGISTRY_AUTH: ${auth} takes no user name or password (set it to basic, or unset SKIFF_${which}_REGISTRY_USERNAME/PASSWORD)`,
      );
    }
    if (auth !== undefined && which === 'GLOBAL' && !config.SKIFF_GLOBAL_REGISTRY) {
      problems.push('SKIFF_GLOBAL_REGISTRY_AUTH: set without SKIFF_GLOBAL_REGISTRY');
    }
  }
  return problems;
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
