// `npm test` runs every project's tests in one vitest process; a Redis started by the global
// setup is shared by all of them (see libs/testing/src/redis-global-setup.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      'libs/*/vitest.config.ts',
      'apps/*/vitest.config.ts',
      'tools/*/vitest.config.ts',
      'tests/*/vitest.config.ts',
    ],
  },
});
