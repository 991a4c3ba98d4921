import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { configFilePath, readLoginConfig, writeLoginConfig } from './config-file.js';
import { parseEndpoint } from './endpoint.js';

describe('parseEndpoint', () => {
  it('reads host:port as plaintext and https:// as TLS on 443 unless a port is given', () => {
    expect(parseEndpoint('127.0.0.1:50051')).toEqual({ address: '127.0.0.1:50051', tls: false });
    expect(parseEndpoint('http://localhost:8080')).toEqual({
      address: 'localhost:8080',
      tls: false,
    });
    expect(parseEndpoint('https://skiff.example.com')).toEqual({
      address: 'skiff.example.com:443',
      tls: true,
    });
    expect(parseEndpoint('https://skiff.example.com:8443/')).toEqual({
      address: 'skiff.example.com:8443',
      tls: true,
    });
    expect(parseEndpoint('[::1]:50051')).toEqual({ address: '[::1]:50051', tls: false });
  });

  it('explains what it expected for anything else', () => {
    expect(parseEndpoint('localhost')).toBe(
      "expected a port, e.g. localhost:50051, got 'localhost'",
    );
    for (const bad of ['ftp://x:1', 'x:1/path', '', 'a b:1', 'grpc://x:1']) {
      expect(parseEndpoint(bad)).toMatch(/^expected host:port or https:\/\/host\[:port\]/);
    }
  });

  it('keeps host and port of every host:port it accepts', () => {
    fc.assert(
      fc.property(
        fc.domain(),
        fc.integer({ min: 1, max: 65_535 }),
        fc.boolean(),
        (host, port, tls) => {
          const parsed = parseEndpoint(`${tls ? 'https://' : ''}${host}:${port}`);
          expect(parsed).toEqual({ address: `${host}:${port}`, tls });
        },
      ),
    );
  });
});

describe('the login file', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  async function io(): Promise<CliIo> {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-cli-config-'));
    dirs.push(dir);
    return { out: () => undefined, err: () => undefined, cwd: dir, env: { HOME: dir } };
  }

  it('lives under ~/.config/skiff unless SKIFF_CONFIG_DIR says otherwise', async () => {
    const home = await io();
    expect(configFilePath(home)).toBe(join(home.cwd, '.config', 'skiff', 'config.json'));
    expect(configFilePath({ ...home, env: { ...home.env, SKIFF_CONFIG_DIR: '/etc/x' } })).toBe(
      '/etc/x/config.json',
    );
  });

  it('is written 0600 in a 0700 directory, also over an existing readable file', async () => {
    const home = await io();
    const path = configFilePath(home);
    await mkdir(join(home.cwd, '.config', 'skiff'), { recursive: true });
    await writeFile(path, '{}', { mode: 0o644 });
    await writeLoginConfig(home, { endpoint: '127.0.0.1:1', token: 'skf_a_b' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      endpoint: '127.0.0.1:1',
      token: 'skf_a_b',
    });
    expect(await readLoginConfig(home)).toEqual({ endpoint: '127.0.0.1:1', token: 'skf_a_b' });

    const fresh = await io();
    await writeLoginConfig(fresh, { endpoint: 'h:1', token: 't' });
    expect((await stat(join(fresh.cwd, '.config', 'skiff'))).mode & 0o777).toBe(0o700);
  });

  it('is absent without a login, and a damaged one is an error naming the file', async () => {
    const home = await io();
    expect(await readLoginConfig(home)).toBeUndefined();
    await mkdir(join(home.cwd, '.config', 'skiff'), { recursive: true });
    await writeFile(configFilePath(home), '{"endpoint": 1}');
    await expect(readLoginConfig(home)).rejects.toThrow(
      `${configFilePath(home)}: not a skiff login`,
    );
    await writeFile(configFilePath(home), 'not json');
    await expect(readLoginConfig(home)).rejects.toThrow(`${configFilePath(home)}: not JSON`);
  });
});
