import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DoctorReport } from '@skiff/doctor';
import type { Logger } from 'pino';
import type { DoctorMetrics } from './metrics.js';
import type { DoctorReportSink } from './report-sink.js';

/** What continuous mode needs. */
export interface ContinuousDoctorOptions {
  /** One run of the plan. */
  readonly runOnce: () => Promise<DoctorReport>;
  /** Time between the end of one run and the start of the next. */
  readonly everyMs: number;
  readonly metrics: DoctorMetrics;
  /** Where /metrics listens; port 0 picks a free one. */
  readonly listen: { readonly host: string; readonly port: number };
  readonly logger: Logger;
  readonly sinks?: readonly DoctorReportSink[];
  /** This node's name in reports (the DaemonSet passes spec.nodeName). */
  readonly node: string;
  /** Called after every run (tests wait on it). */
  readonly onRun?: (report: DoctorReport | undefined) => void;
}

/** A running continuous doctor. */
export interface ContinuousDoctor {
  /** Where /metrics is served. */
  readonly address: AddressInfo;
  /** Stops scheduling runs, waits for the current one, closes the server. */
  stop(): Promise<void>;
}

function metricsServer(metrics: DoctorMetrics, logger: Logger, ready: () => boolean): Server {
  return createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) =>
          response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        )
        .catch((error: unknown) => {
          logger.error({ err: error }, 'rendering metrics failed');
          response.writeHead(500).end();
        });
      return;
    }
    if (request.method === 'GET' && path === '/healthz') {
      response
        .writeHead(ready() ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready() ? 'ok' : 'first run pending');
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
}

/**
 * Re-runs the plan every `everyMs`, exports each report on /metrics and hands it to the
 * sinks. Runs never overlap: the next one is scheduled when the previous one ends.
 */
export async function startContinuousDoctor(
  options: ContinuousDoctorOptions,
): Promise<ContinuousDoctor> {
  let completedRuns = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const server = metricsServer(options.metrics, options.logger, () => completedRuns > 0);
  server.listen(options.listen.port, options.listen.host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  options.logger.info(
    { address: `${address.address}:${address.port}`, everyMs: options.everyMs },
    'doctor metrics listening',
  );

  const runAndSchedule = async (run: number): Promise<void> => {
    let report: DoctorReport | undefined;
    try {
      report = await options.runOnce();
      options.metrics.record(report);
      const failed = report.phases
        .flatMap((phase) => phase.checks)
        .filter((check) => check.status === 'fail');
      options.logger.info(
        {
          run,
          summary: report.summary,
          failed: failed.map((check) => `${check.id}: ${check.detail}`),
        },
        'doctor run finished',
      );
      for (const sink of options.sinks ?? []) {
        await sink
          .publish(report, options.node)
          .catch((error: unknown) =>
            options.logger.warn({ run, err: error }, 'publishing the report failed'),
          );
      }
    } catch (error) {
      options.metrics.recordError();
      options.logger.error({ run, err: error }, 'doctor run failed');
    }
    completedRuns += 1;
    options.onRun?.(report);
    if (!stopped) {
      timer = setTimeout(() => {
        current = runAndSchedule(run + 1);
      }, options.everyMs);
    }
  };
  current = runAndSchedule(1);

  return {
    address,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await current;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
