import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.js';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const config = parseConfig({ SKIFF_ENTRY_SCRIPT: 'score.py' }, '/app');
    expect(config).toMatchObject({
      entryScript: '/app/score.py',
      sourceDir: '/app',
      runtime: 'python',
      host: '127.0.0.1',
      port: 5001,
      maxConcurrentRequests: 1,
      workers: 1,
      scoringTimeoutMs: 60_000,
      maxBodyBytes: 100 * 1024 * 1024,
      dataCollectionDir: undefined,
      serviceId: 'local',
      python: 'python3',
      models: [],
    });
  });

  it('resolves the entry script against SKIFF_SOURCE_DIR and picks the runtime by extension', () => {
    const config = parseConfig(
      {
        SKIFF_ENTRY_SCRIPT: 'src/score.mjs',
        SKIFF_SOURCE_DIR: 'proj',
        SKIFF_MAX_CONCURRENT_REQUESTS: '4',
      },
      '/w',
    );
    expect(config).toMatchObject({
      entryScript: '/w/proj/src/score.mjs',
      sourceDir: '/w/proj',
      runtime: 'javascript',
      workers: 4,
    });
    expect(
      parseConfig({
        SKIFF_ENTRY_SCRIPT: 'a.py',
        SKIFF_WORKERS: '1',
        SKIFF_MAX_CONCURRENT_REQUESTS: '4',
      }).workers,
    ).toBe(1);
  });

  it.each([
    [{}, /^SKIFF_ENTRY_SCRIPT: required/],
    [
      { SKIFF_ENTRY_SCRIPT: 'score.rb' },
      /^SKIFF_ENTRY_SCRIPT: cannot tell the runtime from '\.rb'/,
    ],
    [
      { SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_PORT: '70000' },
      /^SKIFF_PORT: expected an integer from 0 to 65535/,
    ],
    [{ SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_SCORING_TIMEOUT_MS: '0' }, /^SKIFF_SCORING_TIMEOUT_MS:/],
    [
      { SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_SNAPSHOT_URL: 'file:///s.zip' },
      /^SKIFF_SNAPSHOT_URL and SKIFF_SNAPSHOT_DIGEST/,
    ],
    [
      { SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_SNAPSHOT_URL: 'ftp://x', SKIFF_SNAPSHOT_DIGEST: digest },
      /^SKIFF_SNAPSHOT_URL: expected a file:, http: or https: URL/,
    ],
    [
      {
        SKIFF_ENTRY_SCRIPT: 'a.py',
        SKIFF_SNAPSHOT_URL: 'file:///s',
        SKIFF_SNAPSHOT_DIGEST: 'md5:1',
      },
      /^SKIFF_SNAPSHOT_DIGEST: expected sha256:/,
    ],
    [{ SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_MODELS: '{' }, /^SKIFF_MODELS: expected a JSON array/],
    [
      {
        SKIFF_ENTRY_SCRIPT: 'a.py',
        SKIFF_MODELS: '[{"name":"m","version":0,"url":"file:///m","digest":"x"}]',
      },
      /^SKIFF_MODELS at \[0\]\.\[version\]:/,
    ],
    [{ SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_MODELS: '[]', SKIFF_MODEL_DIR: '/m' }, null],
    [{ SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_LOG_LEVEL: 'loud' }, /^SKIFF_LOG_LEVEL:/],
  ])('names the variable at fault: %j', (env, message) => {
    if (message === null) {
      expect(() => parseConfig(env)).not.toThrow();
      return;
    }
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(message);
  });

  it('takes at most 1,000 models, inline or from SKIFF_MODELS_FILE', async () => {
    const model = (i: number) => ({ name: `m${i}`, version: 1, url: `file:///m/${i}`, digest });
    const dir = await mkdtemp(join(tmpdir(), 'skiff-config-test-'));
    try {
      const file = join(dir, 'models.json');
      await writeFile(file, JSON.stringify(Array.from({ length: 1_000 }, (_, i) => model(i))));
      expect(
        parseConfig({ SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_MODELS_FILE: file }).models,
      ).toHaveLength(1_000);
      await writeFile(file, JSON.stringify(Array.from({ length: 1_001 }, (_, i) => model(i))));
      expect(() => parseConfig({ SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_MODELS_FILE: file })).toThrow(
        'SKIFF_MODELS_FILE: at most 1000 models per deployment',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(() =>
      parseConfig({
        SKIFF_ENTRY_SCRIPT: 'a.py',
        SKIFF_MODELS: JSON.stringify([model(1), model(1)]),
      }),
    ).toThrow('SKIFF_MODELS: each name/version may appear once');
    expect(() =>
      parseConfig({
        SKIFF_ENTRY_SCRIPT: 'a.py',
        SKIFF_MODELS: JSON.stringify([model(1)]),
        AZUREML_MODEL_DIR: '/m',
      }),
    ).toThrow(/^SKIFF_MODELS: not allowed together with/);
  });

  it('accepts exactly the integers in range for SKIFF_MAX_CONCURRENT_REQUESTS', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const valid = /^\s*\d+\s*$/.test(text) && Number(text) >= 1 && Number(text) <= 1_000;
        const env = { SKIFF_ENTRY_SCRIPT: 'a.py', SKIFF_MAX_CONCURRENT_REQUESTS: text };
        if (text.trim() === '') return parseConfig(env).maxConcurrentRequests === 1;
        if (valid) return parseConfig(env).maxConcurrentRequests === Number(text);
        expect(() => parseConfig(env)).toThrow(/^SKIFF_MAX_CONCURRENT_REQUESTS:/);
        return true;
      }),
    );
  });
});
