import { createServer, type Server } from 'node:http';
import { availableParallelism, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { SkiffClient } from '@skiff/client';
import { startComputeWorker } from '@skiff/queue';
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ArtifactCache } from './artifact-cache.js';
import type { AgentEnv } from './config.js';
import { DeploymentJobs } from './jobs.js';
import { NodeArtifacts } from './node-artifacts.js';
import { LogShipper, ReplicaReporter } from './reporting.js';
import type { AgentRuntime } from './runtime.js';

/** A running agent. */
export interface Agent {
  /** host:port of /healthz, /readyz and /metrics. */
  readonly httpAddress: string;
  /** Graceful stop: active jobs finish, logs are flushed; replicas keep running. */
  stop(): Promise<void>;
}

/** Version reported to the control plane. */
const AGENT_VERSION = '0.1.0';

/**
 * Registers with the control plane, then works the compute target's queue with the
 * runtime's driver, reports this node's replicas every interval and ships their logs; on
 * Kubernetes it also fills this node's artifact cache for the replicas scheduled here.
 */
export async function startAgent(
  env: AgentEnv,
  runtime: AgentRuntime,
  log: Logger,
): Promise<Agent> {
  const { driver } = runtime;
  const client = await SkiffClient.connect({
    endpoint: env.SKIFF_ENDPOINT,
    token: env.SKIFF_TOKEN,
  });
  const register = () =>
    client.agents.register({
      workspace: env.SKIFF_WORKSPACE,
      compute: env.SKIFF_COMPUTE,
      nodeName: env.SKIFF_NODE_NAME,
      agentVersion: AGENT_VERSION,
      capacity: {
        cpu: availableParallelism(),
        memoryInGb: Math.round((totalmem() / 1024 ** 3) * 100) / 100,
        gpu: 0,
        fpga: 0,
      },
    });
  let registration: Awaited<ReturnType<typeof register>>;
  try {
    registration = await register();
  } catch (error) {
    client.close();
    throw error;
  }
  const interval = registration.reportInterval;
  const intervalMs = interval
    ? Math.max(100, interval.seconds * 1000 + interval.nanos / 1e6)
    : 1000;
  log.info(
    { agentId: registration.agentId, queue: registration.queueName, freeMemory: freemem() },
    'registered with the control plane',
  );

  const cache = new ArtifactCache(
    env.SKIFF_CACHE_DIR ?? join(env.SKIFF_STATE_DIR, 'cache'),
    env.SKIFF_CACHE_MAX_BYTES,
    (digest) =>
      (async function* () {
        for await (const message of client.agents.download({
          workspace: env.SKIFF_WORKSPACE,
          digest,
        })) {
          yield message.chunk;
        }
      })(),
    log.child({ component: 'cache' }),
  );
  const shipper = new LogShipper(client, driver, log.child({ component: 'logs' }));
  const reporter = new ReplicaReporter(
    client,
    driver,
    () => registration.agentId,
    log.child({ component: 'reporter' }),
    async () => {
      registration = await register();
    },
    env.SKIFF_NODE_NAME,
  );
  const jobs = new DeploymentJobs({
    client,
    driver,
    cache,
    environment: runtime.environment,
    workspace: env.SKIFF_WORKSPACE,
    nodeName: env.SKIFF_NODE_NAME,
    log: log.child({ component: 'jobs' }),
    flushLogs: () => shipper.flush(),
    reportReplicas: () => reporter.reportOnce(),
  });

  const redisUrl = new URL(env.REDIS_URL);
  const access = registration.redis;
  const worker: Worker = startComputeWorker(
    {
      redisUrl: env.REDIS_URL,
      prefix: access?.queuePrefix || 'skiff:bull',
      workspace: env.SKIFF_WORKSPACE,
      compute: env.SKIFF_COMPUTE,
      concurrency: env.SKIFF_JOB_CONCURRENCY,
      lockDurationMs: env.SKIFF_JOB_LOCK_MS,
      // Credentials in REDIS_URL win: the operator manages Redis users then.
      ...(access?.username && redisUrl.username === ''
        ? { username: access.username, password: access.password }
        : {}),
      onError: (error) => log.warn({ err: error }, 'queue connection error'),
    },
    jobs.handlers(),
  );
  worker.on('failed', (job, error) => log.warn({ jobId: job?.id, err: error }, 'job failed'));
  worker.on('completed', (job, result) => log.info({ jobId: job.id, result }, 'job done'));

  shipper.start();
  reporter.start(intervalMs);
  let nodeArtifacts: NodeArtifacts | undefined;
  let unwatch: (() => void) | undefined;
  if (runtime.watchNodeReplicas) {
    const artifacts = new NodeArtifacts({
      client,
      cache,
      workspace: env.SKIFF_WORKSPACE,
      log: log.child({ component: 'node-artifacts' }),
    });
    nodeArtifacts = artifacts;
    artifacts.start();
    unwatch = await runtime.watchNodeReplicas((replicas) => artifacts.update(replicas));
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const http = await listen(env.SKIFF_HTTP_LISTEN, registry, () => worker.isRunning());

  return {
    httpAddress: http.address,
    stop: async () => {
      await worker.close();
      unwatch?.();
      await nodeArtifacts?.stop();
      await reporter.stop();
      await shipper.stop();
      await driver.close();
      client.close();
      await new Promise((resolve) => http.server.close(resolve));
      log.info('agent stopped');
    },
  };
}

async function listen(
  address: string,
  registry: Registry,
  ready: () => boolean,
): Promise<{ server: Server; address: string }> {
  const server = createServer((request, response) => {
    if (request.url === '/healthz') {
      response.end('ok');
    } else if (request.url === '/readyz') {
      response.statusCode = ready() ? 200 : 503;
      response.end(ready() ? 'ready' : 'not ready');
    } else if (request.url === '/metrics') {
      registry.metrics().then(
        (text) => {
          response.setHeader('content-type', registry.contentType);
          response.end(text);
        },
        () => {
          response.statusCode = 500;
          response.end();
        },
      );
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(separator + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const actual = typeof bound === 'object' && bound ? `${host}:${bound.port}` : address;
  return { server, address: actual };
}
