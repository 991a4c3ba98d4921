// Shared vitest settings for every project. Each project's vitest.config.ts calls
// `skiffProject()`, so `npx nx test <project>` and the root `npm test` (vitest projects) run the
// same configuration.
import { fileURLToPath } from 'node:url';
import { defaultServerConditions, defaultClientConditions, type Plugin } from 'vite';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Options for one project's tests. */
export interface SkiffProjectOptions {
  /** Start (or reuse) a real Redis before the tests; default false. */
  redis?: boolean;
  /** Per-test timeout in ms; default 15000 (real processes and servers take time to start). */
  testTimeout?: number;
}

/**
 * Resolve workspace packages to their TypeScript sources (the `@skiff/source` export condition)
 * in every Vite environment, so tests never depend on a previous build. A plugin rather than
 * `resolve.conditions`: Vite gives non-client environments their own defaults, and vitest
 * loads global-setup files through an environment of its own (`__vitest__`), which would
 * otherwise fall through to `dist/` (absent on a fresh clone).
 */
export function sourceConditionPlugin(): Plugin {
  return {
    name: 'skiff:source-condition',
    configEnvironment(name, config) {
      const consumer = config.consumer ?? (name === 'client' ? 'client' : 'server');
      // Not Vite's 'module' condition on the server side: it selects bundler-only builds (e.g.
      // @opentelemetry/api's extensionless ESM) that Node itself cannot load when vitest
      // externalizes them.
      const defaults =
        consumer === 'client'
          ? defaultClientConditions
          : defaultServerConditions.filter((c) => c !== 'module');
      config.resolve ??= {};
      config.resolve.conditions = ['@skiff/source', ...(config.resolve.conditions ?? defaults)];
    },
  };
}

/** Vitest project settings shared by every app and lib. */
export function skiffProject(name: string, options: SkiffProjectOptions = {}): UserWorkspaceConfig {
  return defineProject({
    plugins: [sourceConditionPlugin()],
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
