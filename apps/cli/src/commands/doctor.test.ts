import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DoctorReport } from '@skiff/doctor';
import { startDoctorFixture, type DoctorFixture } from '@skiff/doctor/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../io.js';
import { main } from '../main.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-cli-doctor-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[]) {
  let out = '';
  let err = '';
  // No proxy variables from the test runner's environment leak into the run.
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), cwd: dir, env: {} };
  const code = await main(argv, io);
  return { code, out, err };
}

async function withFixture<T>(
  start: Parameters<typeof startDoctorFixture>[0],
  use: (world: DoctorFixture) => Promise<T>,
): Promise<T> {
  const world = await startDoctorFixture(start);
  try {
    return await use(world);
  } finally {
    await world.close();
  }
}

describe('skiff doctor', () => {
  it('--help documents every flag', async () => {
    const { code, out } = await run(['doctor', '--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--cluster',
      '--region',
      '--acr',
      '--storage-account',
      '--endpoint-label',
      '--namespace',
      '--token-auth',
      '--acr-data-endpoint',
      '--resolver',
      '--resolv-conf',
      '--plan',
      '--phase',
      '--host-override',
      '--extra-host',
      '--timeout',
      '--slow-dns',
      '--ca-file',
      '--expected-issuer',
      '--kubeconfig',
      '--pod-cidr',
      '--json',
      '--junit',
    ]) {
      expect(out).toContain(flag);
    }
    expect(out).toContain('Exit codes');
  });

  it('exits 0 on a healthy world, prints JSON, writes JUnit, and never reads the system resolver list when --resolver is given', async () => {
    await withFixture({}, async (world) => {
      const junit = join(dir, 'doctor.xml');
      const { code, out, err } = await run([
        'doctor',
        ...world.cliArgs(),
        '--json',
        '--junit',
        junit,
        '--resolv-conf',
        join(dir, 'does-not-exist'),
      ]);
      expect(err).toBe('');
      expect(code).toBe(0);
      const report = JSON.parse(out) as DoctorReport;
      expect(report.schema).toBe('skiff.dev/doctor-report/v1');
      expect(report.resolvers).toEqual(world.resolvers.map((resolver) => resolver.label));
      expect(report.summary).toMatchObject({ fail: 0, warn: 0, exitCode: 0 });
      expect(report.phases.flatMap((phase) => phase.checks).length).toBeGreaterThan(30);
      expect(await readFile(junit, 'utf8')).toContain('<testsuites name="skiff doctor"');
    });
  });

  it('exits 1 when a required check fails, with the diagnosis and the rule in the table', async () => {
    await withFixture(
      {
        resolvers: [
          { address: '127.0.0.2', zone: { 'skiffacr.azurecr.io': { rcode: 'REFUSED' } } },
          { address: '127.0.0.3' },
        ],
      },
      async (world) => {
        const { code, out } = await run(['doctor', ...world.cliArgs()]);
        expect(code).toBe(1);
        expect(out).toMatch(/✗ FAIL\s+acr\s+dns/);
        expect(out).toContain('dns.not-forwarding');
        expect(out).toContain('rule: dns: on 127.0.0.2:');
        expect(out).toContain('why:  The workspace container registry');
      },
    );
  });

  it('adds hosts from --extra-host and a plan file', async () => {
    await withFixture({ zone: { 'orders.example.net': { a: ['127.0.0.10'] } } }, async (world) => {
      const plan = join(dir, 'plan.yaml');
      await writeFile(
        plan,
        [
          'schemaVersion: 1',
          'extends: default',
          'hosts:',
          '  - id: orders-db',
          '    phase: 5',
          '    host: orders.example.net',
          `    port: ${world.endpoint.port}`,
          '    protocol: tcp',
          '    why: The model reads orders.',
        ].join('\n'),
      );
      const { code, out } = await run([
        'doctor',
        ...world.cliArgs(),
        '--plan',
        'plan.yaml',
        '--extra-host',
        `orders.example.net:${world.endpoint.port}`,
        '--json',
      ]);
      expect(code).toBe(0);
      const ids = (JSON.parse(out) as DoctorReport).phases
        .flatMap((phase) => phase.checks)
        .map((check) => check.id);
      expect(ids).toEqual(
        expect.arrayContaining(['orders-db.dns', 'orders-db.tcp', 'extra-1.tcp']),
      );
    });
  });

  it.each([
    [['--resolver', 'dns.google'], /not an IP address/],
    [['--resolver', '127.0.0.2', '--phase', '9'], /--phase 9/],
    [['--resolver', '127.0.0.2', '--timeout', 'soon'], /--timeout soon/],
    [['--resolver', '127.0.0.2', '--plan', 'missing.yaml'], /cannot read plan file/],
    [['--resolver', '127.0.0.2', '--host-override', 'mcr.microsoft.com'], /--host-override/],
  ])('exits 2 on a usage error: %j', async (flags, message) => {
    const { code, err } = await run(['doctor', ...flags]);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  it('exits 2 on an invalid plan file', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'schemaVersion: 1\nhosts:\n  - { id: x, phase: 7, host: x.example, protocol: tcp, why: y }\n',
    );
    const { code, err } = await run(['doctor', '--resolver', '127.0.0.2', '--plan', 'bad.yaml']);
    expect(code).toBe(2);
    expect(err).toMatch(/bad\.yaml: hosts\.0\.phase/);
  });

  it('without --resolver, reads the system resolver list, and says so when it is empty', async () => {
    await writeFile(join(dir, 'resolv.conf'), 'search example\n');
    const { code, err } = await run(['doctor', '--resolv-conf', 'resolv.conf']);
    expect(code).toBe(2);
    expect(err).toMatch(/no nameserver in .*resolv\.conf; pass --resolver/);
  });
});
