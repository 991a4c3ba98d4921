// The apps `skiff up` starts, found by path beside the CLI (apps/<app>/bin in a checkout or an
// image) — never imported: each runs as its own process, as in a cluster, started with the
// same Node.js that runs the CLI. From src/up/ and from dist/up/ the apps folder is three up.
import { fileURLToPath } from 'node:url';

const bin = (app: string, name: string) =>
  fileURLToPath(new URL(`../../../${app}/bin/${name}.js`, import.meta.url));

/** The bins of the platform's apps. */
export const APP_BINS = {
  controlPlane: bin('control-plane', 'skiff-control-plane'),
  router: bin('router', 'skiff-router'),
  agent: bin('agent', 'skiff-agent'),
} as const;
