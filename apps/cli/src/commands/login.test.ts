import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Role } from '@skiff/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runSkiff,
  startControlPlaneProcess,
  type ControlPlaneProcess,
} from '../test-support/control-plane.js';

describe('skiff login and how online commands find endpoint, credential and workspace', () => {
  let cp: ControlPlaneProcess;
  let configDir: string;
  let deployer: string;

  beforeAll(async () => {
    cp = await startControlPlaneProcess();
    deployer = await cp.team('login-team', Role.ROLE_DEPLOYER);
    configDir = await mkdtemp(join(tmpdir(), 'skiff-cli-login-'));
  });
  afterAll(async () => {
    await cp?.stop();
    await rm(configDir, { recursive: true, force: true });
  });

  const env = () => ({ SKIFF_CONFIG_DIR: configDir });

  it('checks the credential, saves it with mode 0600 and never prints it', async () => {
    const run = await runSkiff(
      ['login', '--endpoint', cp.endpoint, '--token', deployer, '-w', 'login-team'],
      env(),
    );
    expect({ code: run.code, err: run.err }).toEqual({
      code: 0,
      err: expect.stringContaining('Credential saved'),
    });
    expect(run.err).not.toContain(deployer);
    expect(run.out).not.toContain(deployer);
    expect(run.out).toContain(`Logged in to ${cp.endpoint}, workspace login-team`);
    const file = join(configDir, 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      endpoint: cp.endpoint,
      token: deployer,
      workspace: 'login-team',
    });
  });

  it('lets later commands use the saved endpoint, credential and workspace', async () => {
    const run = await runSkiff(['service', 'list', '-o', 'json'], env());
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual([]);
  });

  it('never sends the saved credential to another endpoint', async () => {
    const run = await runSkiff(['service', 'list', '--endpoint', '127.0.0.2:1'], env());
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      'skiff: UNAUTHENTICATED: no credential for 127.0.0.2:1: run skiff login --endpoint 127.0.0.2:1 --token <token>, or set SKIFF_TOKEN\n',
    );
  });

  it('prefers SKIFF_TOKEN, SKIFF_ENDPOINT and SKIFF_WORKSPACE over the login', async () => {
    const run = await runSkiff(['compute', 'list'], {
      ...env(),
      SKIFF_TOKEN: 'skf_000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    });
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^skiff: UNAUTHENTICATED: .+\n$/);
    const other = await runSkiff(['compute', 'list'], { ...env(), SKIFF_WORKSPACE: 'not-mine' });
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/^skiff: (NOT_FOUND|PERMISSION_DENIED): .+\n$/);
  });

  it('refuses a wrong credential and keeps the saved login', async () => {
    const run = await runSkiff(
      [
        'login',
        '--endpoint',
        cp.endpoint,
        '--token',
        'skf_111111111111111111111111_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
      ],
      env(),
    );
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^skiff: UNAUTHENTICATED: /);
    expect(JSON.parse(await readFile(join(configDir, 'config.json'), 'utf8')).token).toBe(deployer);
  });

  it('exits 2 when a workspace-scoped command has no workspace', async () => {
    const run = await runSkiff(['model', 'list', '--endpoint', cp.endpoint], {
      SKIFF_TOKEN: deployer,
      SKIFF_CONFIG_DIR: join(configDir, 'none'),
    });
    expect(run.code).toBe(2);
    expect(run.err).toContain('skiff: no workspace: pass -w <workspace>');
  });

  it('says so in one line when nothing listens at the endpoint', async () => {
    const run = await runSkiff(['service', 'list', '-w', 'x', '--endpoint', '127.0.0.1:1'], {
      SKIFF_TOKEN: deployer,
    });
    expect(run.code).toBe(1);
    expect(run.err).toMatch(
      /^skiff: UNAVAILABLE: cannot reach the control plane at 127\.0\.0\.1:1: [^\n]+\n$/,
    );
  });

  it('rejects a malformed endpoint as a usage error', async () => {
    const run = await runSkiff(['service', 'list', '-w', 'x', '--endpoint', 'ftp://x'], {
      SKIFF_TOKEN: deployer,
    });
    expect(run.code).toBe(2);
    expect(run.err).toContain('--endpoint: expected host:port');
  });
});
