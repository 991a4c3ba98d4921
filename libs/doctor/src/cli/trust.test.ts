import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../checks/model.js';
import { renderJunit } from '../report/junit.js';
import type { DoctorReport } from '../report/model.js';
import { createTestCa, startDoctorFixture, type DoctorFixture } from '../test-support/index.js';
import { addDoctorOptions, runDoctorCommand, type DoctorFlags } from './options.js';

// The doctor's trust store: the fixture's CA reaches the doctor through NODE_EXTRA_CA_CERTS or
// a fake system bundle instead of --ca-file, and `--trust bundled` leaves both out.

function flags(args: readonly string[]): DoctorFlags {
  return addDoctorOptions(new Command().exitOverride())
    .parse([...args], { from: 'user' })
    .opts<DoctorFlags>();
}

let world: DoctorFixture | undefined;
let dir: string | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The fixture's flags without --ca-file: the CA must come from the environment. */
function argsWithoutCaFile(fixture: DoctorFixture): string[] {
  const args = fixture.cliArgs();
  const at = args.indexOf('--ca-file');
  return [...args.slice(0, at), ...args.slice(at + 2), '--phase', '1'];
}

interface Run {
  readonly code: number;
  readonly out: string;
  readonly report: DoctorReport;
  readonly check: (id: string) => CheckResult | undefined;
}

async function doctor(
  args: readonly string[],
  env: Record<string, string>,
  systemBundles: readonly string[],
): Promise<Run> {
  let json = '';
  const io = { err: () => undefined, cwd: process.cwd(), env, systemBundles };
  const code = await runDoctorCommand(flags([...args, '--json']), {
    ...io,
    out: (text) => (json += text),
  });
  let out = '';
  await runDoctorCommand(flags(args), { ...io, out: (text) => (out += text) });
  const report = JSON.parse(json) as DoctorReport;
  const checks = report.phases.flatMap((phase) => phase.checks);
  return { code, out, report, check: (id) => checks.find((check) => check.id === id) };
}

async function tempDir(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'skiff-doctor-trust-'));
  return dir;
}

describe('--trust system (the default)', () => {
  it('trusts the CA in NODE_EXTRA_CA_CERTS and names it among the roots', async () => {
    world = await startDoctorFixture();
    const missing = join(await tempDir(), 'no-system-bundle.crt');
    const run = await doctor(argsWithoutCaFile(world), { NODE_EXTRA_CA_CERTS: world.caFile }, [
      missing,
    ]);
    expect(run.check('mcr.tls')).toMatchObject({
      status: 'pass',
      data: { chainValid: true, verifiedAgainst: 'public' },
    });
    expect(run.check('mcr.http')?.status).toBe('pass');
    expect(run.code).toBe(0);
    expect(run.report.trust?.mode).toBe('system');
    expect(run.report.trust?.public).toEqual([
      expect.objectContaining({ kind: 'bundled', location: 'node:tls rootCertificates' }),
      expect.objectContaining({ kind: 'system', certificates: 0 }),
      {
        kind: 'node-extra-ca-certs',
        location: world.caFile,
        certificates: 1,
        names: ['skiff test CA Root'],
      },
    ]);
    expect(run.out).toContain('roots for public hosts (--trust system):');
    expect(run.out).toContain(`NODE_EXTRA_CA_CERTS ${world.caFile}: 1 (skiff test CA Root)`);
  });

  it('trusts the CA in the system bundle (the first that exists, or $SSL_CERT_FILE)', async () => {
    world = await startDoctorFixture();
    const temp = await tempDir();
    // A bundle as update-ca-certificates writes it: other roots, then the operator's proxy CA.
    const other = await createTestCa('Some Public Root');
    const bundle = join(temp, 'ca-certificates.crt');
    await writeFile(bundle, `# comment\n${other.cert}\n${world.ca.cert}\n`);
    const missing = join(temp, 'ca-bundle.crt');

    const fromList = await doctor(argsWithoutCaFile(world), {}, [missing, bundle]);
    expect(fromList.check('mcr.tls')?.status).toBe('pass');
    expect(fromList.report.trust?.public[1]).toEqual({
      kind: 'system',
      location: bundle,
      certificates: 2,
      names: ['Some Public Root Root', 'skiff test CA Root'],
    });
    expect(fromList.out).toContain(
      `system store ${bundle}: 2 (Some Public Root Root, skiff test CA Root)`,
    );

    const fromEnv = await doctor(argsWithoutCaFile(world), { SSL_CERT_FILE: bundle }, [missing]);
    expect(fromEnv.check('mcr.tls')?.status).toBe('pass');
    expect(fromEnv.report.trust?.public[1]).toMatchObject({ kind: 'system', location: bundle });
  });

  it('reports an unreadable NODE_EXTRA_CA_CERTS and goes on without it', async () => {
    world = await startDoctorFixture();
    const missing = join(await tempDir(), 'proxy-ca.pem');
    const run = await doctor(argsWithoutCaFile(world), { NODE_EXTRA_CA_CERTS: missing }, [missing]);
    expect(run.report.trust?.public[2]).toEqual({
      kind: 'node-extra-ca-certs',
      location: missing,
      certificates: 0,
      error: 'cannot read (ENOENT)',
    });
    expect(run.out).toContain(`⚠ NODE_EXTRA_CA_CERTS ${missing}: none: cannot read (ENOENT)`);
    expect(run.check('mcr.tls')?.status).toBe('fail');
  });
});

describe('--trust bundled', () => {
  it("verifies against Node's roots only: the CA from the environment is not trusted, and the diagnosis names its issuer", async () => {
    world = await startDoctorFixture();
    const temp = await tempDir();
    const bundle = join(temp, 'ca-certificates.crt');
    await writeFile(bundle, world.ca.cert);
    const run = await doctor(
      [...argsWithoutCaFile(world), '--trust', 'bundled'],
      { NODE_EXTRA_CA_CERTS: world.caFile, SSL_CERT_FILE: bundle },
      [bundle],
    );
    expect(run.check('mcr.tls')).toMatchObject({
      status: 'fail',
      data: { chainValid: false, issuer: { organization: 'skiff test CA' } },
    });
    const diagnosis = run.report.diagnoses.find((d) => d.checkId === 'mcr.tls');
    expect(diagnosis).toMatchObject({ id: 'tls.interception', severity: 'fail' });
    expect(diagnosis?.summary).toContain('"skiff test CA"');
    expect(diagnosis?.summary).toContain('--trust bundled');
    expect(run.code).toBe(1);
    expect(run.report.trust).toEqual({
      mode: 'bundled',
      public: [expect.objectContaining({ kind: 'bundled' })],
      cluster: [],
    });
    expect(run.out).toContain('roots for public hosts (--trust bundled):');
    expect(renderJunit(run.report)).toContain('<property name="trust.mode" value="bundled"/>');
    expect(run.out).not.toContain(`NODE_EXTRA_CA_CERTS ${world.caFile}`);
  });

  it('still adds --ca-file, and lists it for public and cluster hosts', async () => {
    world = await startDoctorFixture();
    const run = await doctor([...world.cliArgs(), '--phase', '1', '--trust', 'bundled'], {}, []);
    expect(run.check('mcr.tls')?.status).toBe('pass');
    const caFile = { kind: 'ca-file', location: world.caFile, certificates: 1 };
    expect(run.report.trust?.public[1]).toMatchObject(caFile);
    expect(run.report.trust?.cluster).toEqual([expect.objectContaining(caFile)]);
    expect(run.out).toContain('roots for cluster hosts:');
    expect(renderJunit(run.report)).toContain(
      `<property name="trust.cluster.1" value="--ca-file ${world.caFile}: 1 (skiff test CA Root)"/>`,
    );
  });

  it('refuses an unknown mode as a usage error', () => {
    expect(() => flags(['--trust', 'everything'])).toThrow(/--trust <roots>.*everything/s);
  });
});
