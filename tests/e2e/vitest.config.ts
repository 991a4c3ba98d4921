import { skiffProject } from '../../vitest.shared.js';

// Real processes (control plane, agent, replicas, the CLI) on a real Redis: slower than unit
// tests, each test starts what it needs.
export default skiffProject('e2e', { redis: true, testTimeout: 120_000 });
