import { startControlPlane } from './app.js';
import { parseControlPlaneEnv } from './config.js';

// `skiff-control-plane`: configuration from the environment (config.ts documents every
// variable), graceful stop on SIGTERM/SIGINT.
let config;
try {
  config = parseControlPlaneEnv(process.env);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
const controlPlane = await startControlPlane(config);
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    controlPlane.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
