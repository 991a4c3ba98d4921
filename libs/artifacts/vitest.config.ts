import { fileURLToPath } from 'node:url';
import { skiffProject } from '../../vitest.shared.js';

const config = skiffProject('artifacts', { testTimeout: 60_000 });
const test = config.test ?? {};
const globalSetup = test.globalSetup ?? [];

export default {
  ...config,
  test: {
    ...test,
    globalSetup: [
      ...(Array.isArray(globalSetup) ? globalSetup : [globalSetup]),
      fileURLToPath(new URL('./src/test-support/azurite-global-setup.ts', import.meta.url)),
    ],
    // The memory test calls gc() to measure what the store retains, not what is merely garbage.
    execArgv: ['--expose-gc'],
  },
};
