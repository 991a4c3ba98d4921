// Assembles the router: control plane link, routing table, replica pools, auth, proxy,
// listeners and metrics; and stops it gracefully.
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { AuthFailureLimiter } from './auth-limiter.js';
import { ServiceAuthenticator } from './auth.js';
import type { RouterConfig } from './config.js';
import { ControlPlaneLink } from './control-plane.js';
import { logCollector, type DataCollector } from './data-collection.js';
import { listenHttp, listenHttps, type Listener } from './listeners.js';
import { LoadReporter } from './load-report.js';
import { createRouterMetrics, type RouterMetrics } from './metrics.js';
import { ScoringProxy } from './proxy.js';
import { ReplicaPools } from './replica-pool.js';
import { createRequestHandler } from './request-handler.js';
import { RoutingTableSource } from './table-source.js';
import { UpstreamAgents } from './upstream-agents.js';

/** A running router. */
export interface Router {
  /** The listeners' URLs: HTTP first, then HTTPS when configured. */
  readonly urls: readonly string[];
  readonly table: RoutingTableSource;
  readonly pools: ReplicaPools;
  readonly metrics: RouterMetrics;
  /**
   * Stops: /readyz turns 503, the listeners stop accepting, requests in flight get up to
   * `drainTimeoutMs` to finish (then their connections are cut), a last load report says the
   * queue is empty, and the control plane streams close.
   */
  stop(): Promise<void>;
}

/** Options of {@link startRouter} beyond the configuration. */
export interface StartRouterOptions {
  readonly log: Logger;
  /** Where data-collection records go; default one log line each. */
  readonly collector?: DataCollector;
}

/** Starts the router; resolves once every listener accepts connections. */
export async function startRouter(
  config: RouterConfig,
  options: StartRouterOptions,
): Promise<Router> {
  const { log } = options;
  const link = new ControlPlaneLink({ endpoint: config.endpoint, token: config.token, log });
  const table = new RoutingTableSource({
    link,
    workspace: config.workspace,
    compute: config.compute,
    routerId: config.routerId,
    log: log.child({ component: 'table' }),
  });
  const pools = new ReplicaPools();
  const agents = new UpstreamAgents({ maxFreeSockets: config.upstreamSockets });
  table.onChange((current) => {
    pools.apply(current);
    agents.retain(current);
  });
  const metrics = createRouterMetrics(pools, {
    version: () => table.current?.version,
    connected: () => table.connected,
  });
  const proxy = new ScoringProxy({
    agents,
    idleTimeoutMs: config.idleTimeoutMs,
    onRetry: (service) => metrics.upstreamRetries.inc({ service }),
  });
  const authenticator = new ServiceAuthenticator(
    new AuthFailureLimiter({
      limit: config.authFailureLimit,
      windowMs: config.authFailureWindowMs,
    }),
  );
  let draining = false;
  const inFlight = new Set<Promise<void>>();
  const handle = createRequestHandler({
    table: () => table.current,
    firstTable: () => table.tableWithin(config.startupWaitMs),
    pools,
    authenticator,
    proxy,
    metrics,
    collector: options.collector ?? logCollector(log.child({ component: 'data-collection' })),
    log: log.child({ component: 'http' }),
    draining: () => draining,
  });
  const tracked: typeof handle = (req, res) => {
    const done = new Promise<void>((resolve) => res.once('close', resolve));
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
    handle(req, res);
  };
  const timeouts = {
    headersTimeoutMs: config.headersTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
  };
  const listeners: Listener[] = [];
  try {
    listeners.push(await listenHttp(config.listen, tracked, timeouts));
    if (config.tls) {
      listeners.push(
        await listenHttps(
          config.tls.listen,
          config.tls,
          tracked,
          timeouts,
          log.child({ component: 'tls' }),
        ),
      );
    }
  } catch (error) {
    for (const listener of listeners) {
      listener.stopWatching();
      listener.server.close();
    }
    throw error;
  }
  const reporter = new LoadReporter({
    link,
    routerId: config.routerId,
    load: () => pools.load(),
    intervalMs: config.loadReportMs,
    log: log.child({ component: 'load-report' }),
  });
  table.start();
  reporter.start();

  let stopping: Promise<void> | undefined;
  return {
    urls: listeners.map((listener) => listener.url),
    table,
    pools,
    metrics,
    stop: () =>
      (stopping ??= (async () => {
        draining = true;
        const closed = listeners.map(
          (listener) =>
            new Promise<void>((resolve) => {
              listener.stopWatching();
              (listener.server as Server).close(() => resolve());
              (listener.server as Server).closeIdleConnections();
            }),
        );
        const drained = Promise.all([...inFlight]);
        const timedOut = await Promise.race([
          drained.then(() => false),
          new Promise<boolean>((resolve) =>
            setTimeout(() => resolve(true), config.drainTimeoutMs).unref(),
          ),
        ]);
        if (timedOut)
          log.warn({ requests: inFlight.size }, 'drain timeout: cutting requests still in flight');
        for (const listener of listeners) (listener.server as Server).closeAllConnections();
        await Promise.all(closed);
        await reporter.settle();
        await link.close();
        await Promise.all([table.stopped(), reporter.stopped()]);
        agents.destroy();
      })()),
  };
}
