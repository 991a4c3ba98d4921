// Shared vitest settings for every project. Each project's vitest.config.ts calls
// `skiffProject()`, so `npx nx test <project>` and the root `npm test` (vitest projects) run the
// same configuration.
import { fileURLToPath } from 'node:url';
import { defaultServerConditions, defaultClientConditions } from 'vite';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Options for one project's tests. */
export interface SkiffProjectOptions {
  /** Start (or reuse) a real Redis before the tests; default false. */
  redis?: boolean;
  /** Per-test timeout in ms; default 15000 (real processes and servers take time to start). */
  testTimeout?: number;
}

/** Vitest project settings shared by every app and lib. */
export function skiffProject(name: string, options: SkiffProjectOptions = {}): UserWorkspaceConfig {
  // Resolve workspace packages to their TypeScript sources (the `@skiff/source` export
  // condition), so tests never depend on a previous build.
  const conditions = ['@skiff/source'];
  return defineProject({
    resolve: { conditions: [...conditions, ...defaultClientConditions] },
    // Not Vite's 'module' condition: it selects bundler-only builds (e.g. @opentelemetry/api's
    // extensionless ESM) that Node itself cannot load when vitest externalizes them.
    ssr: {
      resolve: {
        conditions: [...conditions, ...defaultServerConditions.filter((c) => c !== 'module')],
      },
    },
    test: {
      name,
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 15_000,
      hookTimeout: 30_000,
      globalSetup: options.redis ? [`${root}libs/testing/src/redis-global-setup.ts`] : [],
    },
  });
}
