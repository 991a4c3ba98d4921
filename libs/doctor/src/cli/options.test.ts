import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { DoctorUsageError } from '../errors.js';
import type { DoctorReport } from '../report/model.js';
import { startDoctorFixture, type DoctorFixture } from '../test-support/index.js';
import { parseDuration } from './duration.js';
import {
  addDoctorOptions,
  doctorRunOptions,
  runDoctorCommand,
  type DoctorFlags,
} from './options.js';

function flags(args: readonly string[]): DoctorFlags {
  return addDoctorOptions(new Command().exitOverride())
    .parse([...args], { from: 'user' })
    .opts<DoctorFlags>();
}

let world: DoctorFixture | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5_000],
    ['5', 5_000],
    ['1.5s', 1_500],
    ['5m', 300_000],
    ['1h', 3_600_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text, '--timeout')).toBe(ms));

  it.each(['', 'soon', '0s', '-1s', '5 m'])('refuses %j', (text) => {
    expect(() => parseDuration(text, '--timeout')).toThrow(DoctorUsageError);
  });
});

describe('in a cluster', () => {
  it('checks the API server at KUBERNETES_SERVICE_HOST against the cluster CA, and treats a proxy gap as a failure', async () => {
    world = await startDoctorFixture({
      pods: new Map([
        [
          'skiff/skiff.io/component=router',
          [{ name: 'router-0', ip: '127.0.0.10', port: 'endpoint' }],
        ],
      ]),
    });
    let out = '';
    const env = {
      KUBERNETES_SERVICE_HOST: '127.0.0.10',
      KUBERNETES_SERVICE_PORT: String(world.endpoint.port),
      HTTPS_PROXY: 'http://proxy.corp:3128',
      NO_PROXY: '.svc,.cluster.local,.azmk8s.io',
    };
    const code = await runDoctorCommand(flags([...world.cliArgs(), '--phase', '2', '--json']), {
      out: (text) => (out += text),
      err: () => undefined,
      cwd: process.cwd(),
      env,
    });
    const report = JSON.parse(out) as DoctorReport;
    const checks = report.phases.flatMap((phase) => phase.checks);
    const service = checks.find((check) => check.id === 'api-server-service.tls');
    expect(service).toMatchObject({
      status: 'pass',
      host: '127.0.0.10',
      port: world.endpoint.port,
    });
    expect(service?.data).toMatchObject({
      verifiedAgainst: 'cluster',
      chainValid: true,
      nameMatches: true,
    });
    expect(checks.find((check) => check.id === 'router-peers.connect')?.status).toBe('pass');
    // 127.0.0.10 (the service IP) is not in NO_PROXY: in-cluster that fails the run.
    expect(checks.find((check) => check.id === 'proxy.env')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('127.0.0.10') as string,
    });
    expect(code).toBe(1);
  });

  it('does not render in-cluster hosts outside a cluster', async () => {
    const options = await doctorRunOptions(
      flags(['--resolver', '127.0.0.2', '--cluster', 'c', '--region', 'r']),
      {
        out: () => undefined,
        err: () => undefined,
        cwd: process.cwd(),
        env: {},
      },
    );
    expect(options.plan.hosts.map((host) => host.id)).not.toContain('api-server-service');
    expect(options.plan.unchecked.find((entry) => entry.id === 'api-server-service')?.kind).toBe(
      'not-applicable',
    );
    expect(options.resolvers.map((resolver) => resolver.label)).toEqual(['127.0.0.2:53']);
    expect(options.trust.expectedIssuers).toEqual(['Microsoft Corporation', 'DigiCert Inc']);
  });
});
