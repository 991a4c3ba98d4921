import { skiffProject } from '../../vitest.shared.js';

// Online commands are tested against a real control plane process on real Redis.
export default skiffProject('cli', { redis: true, testTimeout: 30_000 });
