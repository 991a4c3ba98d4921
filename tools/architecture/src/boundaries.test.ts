import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// ARCHITECTURE.md: "apps import libs; libs never import apps". The rule that enforces it is
// @nx/enforce-module-boundaries with the type:lib / type:app tags; these tests make sure a lib
// that imports an app really fails lint, so the rule cannot silently stop working.
const root = fileURLToPath(new URL('../../..', import.meta.url));
// A lib no app depends on yet: a probe in a lib that an app imports would first be reported
// as a circular dependency, not as the tag rule.
const probeDir = join(root, 'libs/autoscale/src');

async function lintProbe(source: string): Promise<string[]> {
  const file = join(probeDir, `boundary-probe-${randomUUID()}.ts`);
  await writeFile(file, source);
  try {
    const eslint = new ESLint({ cwd: root });
    const [result] = await eslint.lintFiles([file]);
    return (result?.messages ?? [])
      .filter((m) => m.ruleId === '@nx/enforce-module-boundaries')
      .map((m) => m.message);
  } finally {
    await rm(file, { force: true });
  }
}

describe('module boundaries', () => {
  beforeAll(() => {
    // The rule reads nx's project graph; make sure it exists in a fresh clone.
    execFileSync('npx', ['nx', 'show', 'projects'], {
      cwd: root,
      env: { ...process.env, NX_DAEMON: 'false' },
      stdio: 'ignore',
    });
  });
  afterAll(() => undefined);

  it('fails a lib that imports an app by package name', async () => {
    const messages = await lintProbe(
      "import '@skiff/cli/package.json';\nexport const probe = 1;\n",
    );
    // Apps are nx applications (forbidden as imports) and tagged type:app (not allowed for
    // type:lib); either verdict of the rule is the boundary holding.
    expect(messages.join('\n')).toMatch(
      /Imports of apps are forbidden|type:lib.*can only depend on libs tagged with.*type:lib/s,
    );
  });

  it('fails a lib that imports an app by relative path', async () => {
    const messages = await lintProbe("export { main } from '../../../apps/cli/src/main.js';\n");
    expect(messages.length).toBeGreaterThan(0);
  });

  it('accepts a lib that imports another lib', async () => {
    const messages = await lintProbe("export { requiredReplicas } from './index.js';\n");
    expect(messages).toEqual([]);
  });
});
