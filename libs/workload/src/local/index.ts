/**
 * The local runtime (see README.md in this folder): replicas as scoring-server processes on
 * this machine, recorded under a state directory.
 */
export { LocalProcessDriver } from './local-process-driver.js';
export type { LocalProcessDriverOptions } from './options.js';
export type { LocalDriverLogger } from './reconciler.js';
export { rolloutProgress, type RolloutProgress } from './rollout.js';
