import { fileURLToPath } from 'node:url';
import type { UserWorkspaceConfig } from 'vitest/config';
import { skiffProject } from '../../vitest.shared.js';

const base = skiffProject('control-plane', { redis: true, testTimeout: 30_000 });
const globalSetup = base.test?.globalSetup ?? [];

// Real Redis for the state, and an in-memory Azurite on loopback (started once per run by the
// artifacts lib's setup) for the Azure Blob artifact backend.
const project: UserWorkspaceConfig = {
  ...base,
  test: {
    ...base.test,
    globalSetup: [
      ...(Array.isArray(globalSetup) ? globalSetup : [globalSetup]),
      fileURLToPath(
        new URL('../../libs/artifacts/src/test-support/azurite-global-setup.ts', import.meta.url),
      ),
    ],
  },
};

export default project;
