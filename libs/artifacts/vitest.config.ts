import { fileURLToPath } from 'node:url';
import type { UserWorkspaceConfig } from 'vitest/config';
import { skiffProject } from '../../vitest.shared.js';

const base = skiffProject('artifacts', { testTimeout: 60_000 });
const globalSetup = base.test?.globalSetup ?? [];

const project: UserWorkspaceConfig = {
  ...base,
  test: {
    ...base.test,
    // An in-memory Azurite on loopback for the Azure Blob backend (started once per run).
    globalSetup: [
      ...(Array.isArray(globalSetup) ? globalSetup : [globalSetup]),
      fileURLToPath(new URL('./src/test-support/azurite-global-setup.ts', import.meta.url)),
    ],
    // The memory test calls gc() to measure what the store retains, not what is merely garbage.
    execArgv: ['--expose-gc'],
  },
};

export default project;
