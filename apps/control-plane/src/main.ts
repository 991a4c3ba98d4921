import { startControlPlane } from './app.js';
import { controlPlaneHelp, parseControlPlaneEnv } from './config.js';

// `skiff-control-plane`: configuration from the environment (--help lists every variable),
// graceful stop on SIGTERM/SIGINT.

// A reader that closes the pipe (`skiff-control-plane --help | head -1`) ends the output
// quietly with exit 0, not with an EPIPE stack trace; a closed stderr only loses diagnostics.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(controlPlaneHelp());
  process.exit(0);
}
if (args.length > 0) {
  process.stderr.write(
    `skiff-control-plane: unknown argument '${args[0] ?? ''}': configuration comes from the environment (skiff-control-plane --help lists every variable)\n`,
  );
  process.exit(2);
}
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
