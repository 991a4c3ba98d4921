// Golden files: expected outputs committed under src/images/__golden__/, compared byte for byte.
// Each is stored as `<file name>.golden`, so formatters leave them alone.
// After an intended change, regenerate them and review the diff:
//
//   SKIFF_UPDATE_GOLDEN=1 npx vitest run --project workload src/images
//
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const SUFFIX = '.golden';
const GOLDEN_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '__golden__');

/**
 * Compares `files` (name → content) with the directory `__golden__/<name>`: the same file names,
 * the same bytes. With SKIFF_UPDATE_GOLDEN=1 the directory is rewritten instead.
 */
export async function expectGolden(
  name: string,
  files: Readonly<Record<string, string>>,
): Promise<void> {
  const dir = join(GOLDEN_ROOT, name);
  if (process.env['SKIFF_UPDATE_GOLDEN'] === '1') {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      await writeFile(join(dir, `${file}${SUFFIX}`), content);
    }
    return;
  }
  const present = await readdir(dir).catch(() => {
    throw new Error(
      `no golden files in ${dir}; create them with SKIFF_UPDATE_GOLDEN=1 and review them`,
    );
  });
  const names = present.map((file) => file.slice(0, -SUFFIX.length));
  expect(Object.keys(files).sort(), `files of ${name}`).toEqual(names.sort());
  for (const [file, content] of Object.entries(files)) {
    const expected = await readFile(join(dir, `${file}${SUFFIX}`));
    expect(content, `${name}/${file}`).toBe(expected.toString('utf8'));
    expect(Buffer.from(content, 'utf8').equals(expected), `${name}/${file} byte for byte`).toBe(
      true,
    );
  }
}
