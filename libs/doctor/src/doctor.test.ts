import { afterEach, describe, expect, it } from 'vitest';
import { kubernetesAccessFromKubeconfig } from './checks/kubernetes.js';
import type { CheckResult } from './checks/model.js';
import { runDoctor, type DoctorRunOptions } from './doctor.js';
import { renderHuman } from './report/human.js';
import type { DoctorReport } from './report/model.js';
import {
  closedPort,
  createSelfSigned,
  FIXTURE_ENDPOINT_ADDRESS,
  loopbackOnly,
  startDoctorFixture,
  type DoctorFixture,
  type DoctorFixtureOptions,
} from './test-support/index.js';

const MCR = 'mcr.microsoft.com';
const MCR_DATA = 'westeurope.data.mcr.microsoft.com';
const BLOB = 'skiffstore.blob.core.windows.net';

let fixture: DoctorFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function run(
  options: DoctorFixtureOptions = {},
  extra: (
    world: DoctorFixture,
  ) => Partial<DoctorRunOptions> | Promise<Partial<DoctorRunOptions>> = () => ({}),
) {
  fixture = await startDoctorFixture(options);
  return runDoctor({
    plan: fixture.plan,
    resolvers: fixture.resolvers,
    overrides: fixture.overrides,
    trust: fixture.trust,
    allowConnect: loopbackOnly,
    timeoutMs: 1_000,
    ...(await extra(fixture)),
  });
}

const checks = (report: DoctorReport): CheckResult[] =>
  report.phases.flatMap((phase) => phase.checks);
function check(report: DoctorReport, id: string): CheckResult {
  const found = checks(report).find((result) => result.id === id);
  if (found === undefined) throw new Error(`no check ${id} in\n${renderHuman(report)}`);
  return found;
}
const diagnosed = (report: DoctorReport, id: string) =>
  report.diagnoses.filter((diagnosis) => diagnosis.id === id);

describe('a healthy world', () => {
  it('passes every check of the default plan, asking every resolver and probing loopback only', async () => {
    const report = await run();
    expect(
      checks(report).filter((result) => result.status !== 'pass'),
      renderHuman(report),
    ).toEqual([]);
    expect(report.diagnoses).toEqual([]);
    expect(report.summary.exitCode).toBe(0);
    expect(report.phases.map((phase) => phase.phase)).toEqual([1, 3, 4, 5]);
    for (const server of fixture!.dnsServers) {
      expect(server.questions).toEqual(
        expect.arrayContaining([`A ${MCR}`, `AAAA ${MCR}`, `A ${BLOB}`]),
      );
    }
    const tls = check(report, 'mcr.tls').data;
    expect(tls).toMatchObject({
      kind: 'tls',
      chainValid: true,
      nameMatches: true,
      servername: MCR,
      issuer: { organization: 'skiff test CA' },
    });
    expect(check(report, 'mcr.http')).toMatchObject({ status: 'pass', detail: 'GET /v2/ → 401' });
    // Only the fixture's loopback endpoint was contacted, by name through SNI and Host.
    expect(fixture!.endpoint.address).toBe(FIXTURE_ENDPOINT_ADDRESS);
    expect(fixture!.endpoint.requests).toContain(`${MCR}:${fixture!.endpoint.port}/v2/`);
  });

  it('runs only up to the phase asked for', async () => {
    const report = await run({}, () => ({ upToPhase: 1 }));
    expect(report.phases.map((phase) => phase.phase)).toEqual([1]);
    expect(report.unchecked.every((entry) => entry.phase <= 1)).toBe(true);
  });
});

describe('DNS detections', () => {
  it('resolvers disagree: warns, and stays silent when they agree', async () => {
    const report = await run({
      resolvers: [
        { address: '127.0.0.2' },
        { address: '127.0.0.3', zone: { [MCR]: { a: ['127.0.0.11'] } } },
      ],
    });
    const [diagnosis] = diagnosed(report, 'dns.resolvers-disagree');
    expect(diagnosis).toMatchObject({ checkId: 'mcr.dns', severity: 'warn' });
    expect(diagnosis?.summary).toContain('127.0.0.11');
    expect(check(report, 'mcr.dns').status).toBe('warn');
    expect(check(report, 'mcr.tcp').status).toBe('pass');
    expect(diagnosed(report, 'dns.resolvers-disagree')).toHaveLength(1);
    expect(report.summary.exitCode).toBe(0);
  });

  it.each(['REFUSED', 'NXDOMAIN'] as const)(
    'a custom DNS server that does not forward (%s): the name fails through it but resolves elsewhere',
    async (rcode) => {
      const report = await run({
        resolvers: [{ address: '127.0.0.2', zone: { [MCR]: { rcode } } }, { address: '127.0.0.3' }],
      });
      const [diagnosis] = diagnosed(report, 'dns.not-forwarding');
      expect(diagnosis).toMatchObject({ checkId: 'mcr.dns', severity: 'fail' });
      expect(diagnosis?.rule).toContain('168.63.129.16');
      expect(check(report, 'mcr.tcp')).toMatchObject({ status: 'blocked', blockedBy: 'mcr.dns' });
      expect(diagnosed(report, 'dns.resolvers-disagree')).toEqual([]);
      expect(report.summary.exitCode).toBe(1);
    },
  );

  it('does not call a name missing everywhere a forwarding problem', async () => {
    const report = await run({ zone: { [MCR]: { rcode: 'NXDOMAIN' } } });
    expect(diagnosed(report, 'dns.not-forwarding')).toEqual([]);
    expect(diagnosed(report, 'dns.failed').map((diagnosis) => diagnosis.checkId)).toEqual([
      'mcr.dns',
    ]);
  });

  it('AAAA REFUSED while A works: warns without blocking the connection', async () => {
    const report = await run({
      zone: { [MCR]: { a: [FIXTURE_ENDPOINT_ADDRESS], aaaaRcode: 'REFUSED' } },
    });
    expect(diagnosed(report, 'dns.aaaa-refused').map((diagnosis) => diagnosis.checkId)).toEqual([
      'mcr.dns',
    ]);
    expect(check(report, 'mcr.dns').status).toBe('warn');
    expect(check(report, 'mcr.http').status).toBe('pass');
  });

  it('AAAA SERVFAIL is diagnosed too; an empty AAAA answer is not', async () => {
    const report = await run({
      zone: { [MCR]: { a: [FIXTURE_ENDPOINT_ADDRESS], aaaaRcode: 'SERVFAIL' } },
    });
    expect(diagnosed(report, 'dns.aaaa-refused').map((diagnosis) => diagnosis.checkId)).toEqual([
      'mcr.dns',
    ]);
    expect(check(report, 'acr.dns').status).toBe('pass');
  });

  it('slow DNS: a 400 ms resolver is slow against a 200 ms threshold', async () => {
    const report = await run(
      { resolvers: [{ address: '127.0.0.2', behaviour: { delayMs: 400 } }] },
      () => ({ slowDnsMs: 200 }),
    );
    const slow = diagnosed(report, 'dns.slow');
    expect(slow.map((diagnosis) => diagnosis.checkId)).toContain('mcr.dns');
    expect(slow.every((diagnosis) => diagnosis.severity === 'warn')).toBe(true);
    expect(report.summary.exitCode).toBe(0);
  });

  it('slow DNS stays silent when the same resolver is under the threshold', async () => {
    const report = await run(
      { resolvers: [{ address: '127.0.0.2', behaviour: { delayMs: 400 } }] },
      () => ({ slowDnsMs: 2_000 }),
    );
    expect(diagnosed(report, 'dns.slow')).toEqual([]);
  });

  it('a resolver that never answers: DNS times out and everything after it is blocked', async () => {
    const report = await run(
      { resolvers: [{ address: '127.0.0.2', behaviour: { silent: true } }] },
      () => ({ timeoutMs: 300, upToPhase: 1 }),
    );
    expect(
      diagnosed(report, 'dns.timeout').map((diagnosis) => [diagnosis.checkId, diagnosis.severity]),
    ).toContainEqual(['mcr.dns', 'fail']);
    expect(check(report, 'mcr.tls')).toMatchObject({ status: 'blocked', blockedBy: 'mcr.dns' });
  });

  it('a second resolver that never answers: a warning about it, the check still passes through the first', async () => {
    const report = await run(
      {
        resolvers: [
          { address: '127.0.0.2' },
          { address: '127.0.0.3', behaviour: { silent: true } },
        ],
      },
      () => ({ timeoutMs: 300, upToPhase: 1 }),
    );
    const timeouts = diagnosed(report, 'dns.timeout');
    expect(timeouts.map((diagnosis) => [diagnosis.checkId, diagnosis.severity])).toContainEqual([
      'mcr.dns',
      'warn',
    ]);
    expect(timeouts[0]?.summary).toContain('127.0.0.3');
    expect(diagnosed(report, 'dns.resolvers-disagree')).toEqual([]);
    expect(check(report, 'mcr.dns').status).toBe('warn');
    expect(check(report, 'mcr.http').status).toBe('pass');
    expect(report.summary.exitCode).toBe(0);
  });

  it('a privatelink CNAME to a public address fails DNS and connects nowhere', async () => {
    const privatelink = 'skiffstore.privatelink.blob.core.windows.net';
    const report = await run({
      zone: { [BLOB]: { cname: privatelink }, [privatelink]: { a: ['20.60.1.1'] } },
    });
    const [diagnosis] = diagnosed(report, 'dns.privatelink-public');
    expect(diagnosis).toMatchObject({ checkId: 'storage-blob.dns', severity: 'fail' });
    expect(diagnosis?.rule).toContain('privatelink.blob.core.windows.net');
    expect(check(report, 'storage-blob.tcp')).toMatchObject({
      status: 'blocked',
      blockedBy: 'storage-blob.dns',
    });
    expect(check(report, 'storage-blob.dns').data).toMatchObject({ addresses: [] });
  });

  it('a privatelink CNAME that does not resolve fails DNS', async () => {
    const report = await run({
      zone: { [BLOB]: { cname: 'skiffstore.privatelink.blob.core.windows.net' } },
    });
    expect(
      diagnosed(report, 'dns.privatelink-unresolved').map((diagnosis) => diagnosis.checkId),
    ).toEqual(['storage-blob.dns']);
  });

  it('a privatelink CNAME to a private address is healthy, and TLS still verifies the original name', async () => {
    const privatelink = 'skiffstore.privatelink.blob.core.windows.net';
    const report = await run({
      zone: { [BLOB]: { cname: privatelink }, [privatelink]: { a: [FIXTURE_ENDPOINT_ADDRESS] } },
    });
    expect(report.diagnoses).toEqual([]);
    expect(check(report, 'storage-blob.dns').detail).toContain(`via ${privatelink}`);
    expect(check(report, 'storage-blob.http').status).toBe('pass');
  });
});

describe('network and TLS detections', () => {
  it('DNS fine but TCP times out: a route or network rule, not DNS', async () => {
    const report = await run({ endpoints: 'blackhole' }, () => ({ timeoutMs: 300, upToPhase: 1 }));
    expect(diagnosed(report, 'network.tcp-timeout').map((diagnosis) => diagnosis.checkId)).toEqual([
      'api-server.tcp',
      'mcr.tcp',
      'mcr-data.tcp',
    ]);
    expect(check(report, 'mcr.dns').status).toBe('pass');
    expect(check(report, 'mcr.tls')).toMatchObject({ status: 'blocked', blockedBy: 'mcr.tcp' });
    expect(diagnosed(report, 'network.tcp-timeout')[0]?.rule).toContain('allow TCP');
  });

  it('a refused connection gets the plain explanation, not the timeout one', async () => {
    const port = await closedPort(FIXTURE_ENDPOINT_ADDRESS);
    const report = await run({}, (world) => ({
      upToPhase: 1,
      overrides: new Map([...world.overrides, [MCR, { port }]]),
    }));
    expect(check(report, 'mcr.tcp')).toMatchObject({ status: 'fail', data: { error: 'refused' } });
    expect(diagnosed(report, 'network.tcp-timeout')).toEqual([]);
    expect(diagnosed(report, 'tcp.failed').map((diagnosis) => diagnosis.checkId)).toEqual([
      'mcr.tcp',
    ]);
  });

  it('a port that accepts but never answers: the TLS handshake times out', async () => {
    const report = await run({ endpoints: 'silent' }, () => ({ timeoutMs: 300, upToPhase: 1 }));
    expect(check(report, 'mcr.tcp').status).toBe('pass');
    expect(check(report, 'mcr.tls')).toMatchObject({ status: 'fail', data: { error: 'timeout' } });
  });

  it('TLS interception: a self-signed certificate does not verify and its issuer is recorded', async () => {
    const report = await run({ certificates: new Map([[MCR, await createSelfSigned([MCR])]]) });
    const [diagnosis] = diagnosed(report, 'tls.interception');
    expect(diagnosis).toMatchObject({ checkId: 'mcr.tls', severity: 'fail' });
    expect(diagnosis?.summary).toContain('Interceptor Inc');
    expect(check(report, 'mcr.tls').data).toMatchObject({
      chainValid: false,
      issuer: { organization: 'Interceptor Inc' },
    });
    expect(check(report, 'mcr.http')).toMatchObject({ status: 'blocked', blockedBy: 'mcr.tls' });
    expect(check(report, 'acr.tls').status).toBe('pass');
  });

  it('an issuer that verifies but is not expected is TLS inspection (warning), only on public hosts', async () => {
    const report = await run({}, (world) => ({
      trust: { ...world.trust, expectedIssuers: ['DigiCert Inc'] },
    }));
    const warned = diagnosed(report, 'tls.unexpected-issuer').map((diagnosis) => diagnosis.checkId);
    expect(warned).toContain('mcr.tls');
    expect(warned).not.toContain('api-server.tls');
    expect(check(report, 'mcr.tls').status).toBe('warn');
    expect(report.summary.exitCode).toBe(0);
  });

  it('a certificate for another name fails the name check', async () => {
    const report = await run({ misnamed: { [MCR]: ['other.example'] } });
    expect(check(report, 'mcr.tls')).toMatchObject({
      status: 'fail',
      data: { nameMatches: false },
    });
    expect(diagnosed(report, 'tls.interception')).toEqual([]);
  });

  it('mcr.microsoft.com reachable but its data endpoint blocked', async () => {
    const report = await run({ zone: { [MCR_DATA]: { rcode: 'NXDOMAIN' } } }, () => ({
      upToPhase: 1,
    }));
    const [diagnosis] = diagnosed(report, 'registry.data-endpoint-blocked');
    expect(diagnosis).toMatchObject({ checkId: 'mcr-data.dns', severity: 'fail' });
    expect(diagnosis?.rule).toContain('*.data.mcr.microsoft.com');
  });

  it('the data endpoint detection stays silent when the registry itself is blocked', async () => {
    const report = await run(
      { zone: { [MCR_DATA]: { rcode: 'NXDOMAIN' }, [MCR]: { rcode: 'NXDOMAIN' } } },
      () => ({ upToPhase: 1 }),
    );
    expect(diagnosed(report, 'registry.data-endpoint-blocked')).toEqual([]);
  });

  it('an optional host failing is a warning: exit 0', async () => {
    const report = await run(
      { zone: { 'ingest-viennawesteurope.kusto.windows.net': { rcode: 'NXDOMAIN' } } },
      () => ({ upToPhase: 3 }),
    );
    expect(check(report, 'telemetry.dns').status).toBe('warn');
    expect(report.summary).toMatchObject({ fail: 0, exitCode: 0 });
  });
});

describe('proxy detection', () => {
  it('HTTPS_PROXY without NO_PROXY for the API server, .svc, .cluster.local and pods', async () => {
    const report = await run({}, () => ({
      upToPhase: 1,
      proxy: {
        env: { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: 'localhost' },
        podCidr: '10.244.0.0/16',
        severity: 'fail',
      },
    }));
    const [diagnosis] = diagnosed(report, 'proxy.no-proxy-gaps');
    expect(diagnosis).toMatchObject({ checkId: 'proxy.env', severity: 'fail' });
    expect(diagnosis?.rule).toBe(
      'env: NO_PROXY=localhost,aks1.hcp.westeurope.azmk8s.io,.svc,.cluster.local,10.244.0.0/16',
    );
    expect(report.summary.exitCode).toBe(1);
  });

  it('is silent when NO_PROXY covers everything', async () => {
    const report = await run({}, () => ({
      upToPhase: 1,
      proxy: {
        env: {
          HTTPS_PROXY: 'http://proxy.corp:3128',
          NO_PROXY: '.azmk8s.io,.svc,.cluster.local,10.244.0.0/16',
        },
        podCidr: '10.244.0.0/16',
        severity: 'fail',
      },
    }));
    expect(check(report, 'proxy.env').status).toBe('pass');
    expect(diagnosed(report, 'proxy.no-proxy-gaps')).toEqual([]);
  });
});

describe('cluster side (Kubernetes API stub)', () => {
  const routerKey = 'skiff/skiff.io/component=router';
  const modelKey = 'skiff/skiff.io/component=replica';

  it('lists the router peers and model pods through the API and connects to them', async () => {
    const report = await run(
      {
        pods: new Map([
          [
            routerKey,
            [
              { name: 'router-a', ip: FIXTURE_ENDPOINT_ADDRESS },
              { name: 'router-b', ip: FIXTURE_ENDPOINT_ADDRESS },
            ],
          ],
          [modelKey, [{ name: 'model-a', ip: FIXTURE_ENDPOINT_ADDRESS, port: 'endpoint' }]],
        ]),
      },
      async (world) => ({
        kubernetes: await kubernetesAccessFromKubeconfig(world.kubernetes!.kubeconfig),
        upToPhase: 3,
        // Router pods declare no port, so the plan's is used (pointed at the fixture endpoint);
        // the model pod declares its port, which wins over the plan's 5001.
        plan: {
          ...world.plan,
          pods: world.plan.pods.map((pods) =>
            pods.id === 'router-peers' ? { ...pods, port: world.endpoint.port } : pods,
          ),
        },
      }),
    );
    expect(check(report, 'router-peers.pods')).toMatchObject({
      status: 'pass',
      detail: '2 pod(s) in skiff (skiff.io/component=router)',
    });
    expect(check(report, 'router-peers.connect').status).toBe('pass');
    expect(check(report, 'model-pods.connect').status).toBe('pass');
    expect(fixture!.kubernetes!.requests).toContain(
      '/api/v1/namespaces/skiff/pods?labelSelector=skiff.io%2Fcomponent%3Drouter',
    );
    expect(diagnosed(report, 'pods.unreachable')).toEqual([]);
  });

  it('pods that refuse connections: a network policy or rule blocks pod-to-pod traffic', async () => {
    const refused = await closedPort('127.0.0.12');
    const report = await run(
      { pods: new Map([[routerKey, [{ name: 'router-a', ip: '127.0.0.12', port: refused }]]]) },
      async (world) => ({
        kubernetes: await kubernetesAccessFromKubeconfig(world.kubernetes!.kubeconfig),
        upToPhase: 2,
      }),
    );
    const [diagnosis] = diagnosed(report, 'pods.unreachable');
    expect(diagnosis).toMatchObject({ checkId: 'router-peers.connect', severity: 'fail' });
    expect(diagnosis?.summary).toContain('router-a: refused');
  });
});
