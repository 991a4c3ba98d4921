// `skiff-router`: the scoring front end of one compute target (apps/router/README.md).
// Configuration from the environment and --tls-cert/--tls-key (--help lists every variable);
// drains and exits 0 on SIGTERM/SIGINT.
import { pino } from 'pino';
import {
  parseRouterConfig,
  parseRouterFlags,
  RouterConfigError,
  routerHelp,
  type RouterConfig,
} from './config.js';
import { startRouter } from './router.js';

// A reader that closes the pipe (`skiff-router --help | head -1`) ends the output quietly with
// exit 0, not with an EPIPE stack trace; a closed stderr only loses diagnostics.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(routerHelp());
  process.exit(0);
}
try {
  parseRouterFlags(args);
} catch (error) {
  if (!(error instanceof RouterConfigError)) throw error;
  // A wrong flag is one line; configuration problems below may be several, one per variable.
  process.stderr.write(`skiff-router: ${error.message} (skiff-router --help lists the options)\n`);
  process.exit(2);
}
let config: RouterConfig;
try {
  config = parseRouterConfig(process.env, args);
} catch (error) {
  if (!(error instanceof RouterConfigError)) throw error;
  process.stderr.write(
    `skiff-router: ${error.message}\n(skiff-router --help lists every variable)\n`,
  );
  process.exit(2);
}
const log = pino({
  level: config.logLevel,
  base: { app: 'router', router: config.routerId, compute: config.compute },
});
let router;
try {
  router = await startRouter(config, { log });
} catch (error) {
  log.fatal({ err: error }, 'could not start the router');
  process.exit(1);
}
log.info({ urls: router.urls, url: router.urls[0] }, 'listening');
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: draining requests in flight');
    router.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  });
}
