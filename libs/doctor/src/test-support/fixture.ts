import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsTrust } from '../checks/tls.js';
import type { HostOverride } from '../net/overrides.js';
import type { Resolver } from '../net/resolvers.js';
import { loadDefaultPlan } from '../plan/load.js';
import { renderPlan, type PlanVariables, type RenderedPlan } from '../plan/render.js';
import type { PlanConditions } from '../plan/schema.js';
import { createTestCa, type PemPair, type TestCa } from './certificates.js';
import {
  startDnsServer,
  type DnsServerBehaviour,
  type TestDnsServer,
  type Zone,
  type ZoneRecord,
} from './dns-server.js';
import { startKubernetesStub, type KubernetesStub } from './kubernetes-stub.js';
import {
  startBlackholeListener,
  startHttpsEndpoint,
  startSilentListener,
  type TestListener,
} from './listeners.js';

/** Template variables of the fixture world. */
export const fixtureVariables = {
  cluster: 'aks1',
  region: 'westeurope',
  acr: 'skiffacr',
  account: 'skiffstore',
  label: 'demo',
  namespace: 'skiff',
} as const satisfies PlanVariables;

/** Every conditional entry on, so the fixture exercises the whole default plan. */
export const fixtureConditions: PlanConditions = {
  tokenAuth: true,
  generatedEndpoint: true,
  acrDataEndpoint: true,
  inCluster: false,
};

/** The address every fixture host resolves to. */
export const FIXTURE_ENDPOINT_ADDRESS = '127.0.0.10';

/** How the fixture's hosts behave behind their (working) DNS. */
export type EndpointMode = 'healthy' | 'blackhole' | 'silent';

/** Options of {@link startDoctorFixture}. */
export interface DoctorFixtureOptions {
  readonly endpoints?: EndpointMode;
  /** Records to add or replace in the zone (by lowercase name). */
  readonly zone?: Readonly<Record<string, ZoneRecord>>;
  /** One behaviour per resolver (default: two well-behaved resolvers on 127.0.0.2 and .3). */
  readonly resolvers?: readonly {
    readonly address: string;
    readonly behaviour?: DnsServerBehaviour;
    readonly zone?: Readonly<Record<string, ZoneRecord>>;
  }[];
  /** Names whose TLS endpoint presents `certificate` instead of one from the test CA. */
  readonly certificates?: ReadonlyMap<string, PemPair>;
  /** Names whose certificate from the test CA is issued for these other names instead. */
  readonly misnamed?: Readonly<Record<string, readonly string[]>>;
  /**
   * Start a Kubernetes stub listing these pods (`namespace/selector` → pods); port `endpoint`
   * is the fixture's HTTPS endpoint port.
   */
  readonly pods?: ReadonlyMap<
    string,
    readonly { name: string; ip: string; port?: number | 'endpoint' }[]
  >;
}

/** A loopback world for the default plan: DNS servers, endpoints, a CA, maybe a Kubernetes stub. */
export interface DoctorFixture {
  readonly plan: RenderedPlan;
  readonly resolvers: readonly Resolver[];
  readonly dnsServers: readonly TestDnsServer[];
  readonly overrides: ReadonlyMap<string, HostOverride>;
  readonly ca: TestCa;
  readonly trust: TlsTrust;
  /** PEM file of the test CA (for --ca-file). */
  readonly caFile: string;
  /** The endpoint every host resolves to; `requests` lists `host/path` of HTTP requests (healthy mode). */
  readonly endpoint: TestListener & { readonly requests?: readonly string[] };
  readonly kubernetes?: KubernetesStub;
  /** Arguments for `skiff doctor` / `skiff-doctor` that run the default plan against this world. */
  cliArgs(): string[];
  close(): Promise<void>;
}

/** Starts the fixture; close it in `afterEach`/`afterAll`. */
export async function startDoctorFixture(
  options: DoctorFixtureOptions = {},
): Promise<DoctorFixture> {
  const plan = renderPlan(await loadDefaultPlan(), {
    variables: fixtureVariables,
    conditions: fixtureConditions,
    kubernetesAccess: options.pods !== undefined,
  });
  const names = plan.hosts.map((host) => host.host);
  const baseZone: Record<string, ZoneRecord> = Object.fromEntries(
    names.map((name) => [name, { a: [FIXTURE_ENDPOINT_ADDRESS] }]),
  );
  const zone: Zone = { ...baseZone, ...options.zone };
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne();
  };
  try {
    const ca = await createTestCa();
    const certificates = new Map<string, PemPair>();
    for (const name of names) {
      const own = options.certificates?.get(name);
      certificates.set(name, own ?? (await ca.issue(options.misnamed?.[name] ?? [name])));
    }
    const mode = options.endpoints ?? 'healthy';
    const endpoint =
      mode === 'healthy'
        ? await startHttpsEndpoint(
            FIXTURE_ENDPOINT_ADDRESS,
            certificates,
            await ca.issue([FIXTURE_ENDPOINT_ADDRESS]),
          )
        : mode === 'blackhole'
          ? await startBlackholeListener(FIXTURE_ENDPOINT_ADDRESS)
          : await startSilentListener(FIXTURE_ENDPOINT_ADDRESS);
    closers.push(() => endpoint.close());
    const resolverSpecs = options.resolvers ?? [{ address: '127.0.0.2' }, { address: '127.0.0.3' }];
    const dnsServers: TestDnsServer[] = [];
    for (const spec of resolverSpecs) {
      const server = await startDnsServer(spec.address, { ...zone, ...spec.zone }, spec.behaviour);
      closers.push(() => server.close());
      dnsServers.push(server);
    }
    const dir = await mkdtemp(join(tmpdir(), 'skiff-doctor-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const caFile = join(dir, 'test-ca.pem');
    await writeFile(caFile, ca.cert);
    let kubernetes: KubernetesStub | undefined;
    if (options.pods !== undefined) {
      const pods = new Map(
        [...options.pods].map(([key, list]) => [
          key,
          list.map(({ port, ...pod }) => ({
            ...pod,
            ...(port !== undefined ? { port: port === 'endpoint' ? endpoint.port : port } : {}),
          })),
        ]),
      );
      const stub = await startKubernetesStub(pods);
      closers.push(() => stub.close());
      kubernetes = stub;
    }
    const overrides = new Map<string, HostOverride>(
      names.map((name) => [name, { port: endpoint.port }]),
    );
    const resolvers = dnsServers.map((server) => server.resolver);
    return {
      plan,
      resolvers,
      dnsServers,
      overrides,
      ca,
      caFile,
      endpoint,
      trust: {
        publicRoots: [ca.cert],
        clusterRoots: [ca.cert],
        expectedIssuers: [ca.organization],
      },
      ...(kubernetes !== undefined ? { kubernetes } : {}),
      cliArgs: () => [
        '--cluster',
        fixtureVariables.cluster,
        '--region',
        fixtureVariables.region,
        '--acr',
        fixtureVariables.acr,
        '--storage-account',
        fixtureVariables.account,
        '--endpoint-label',
        fixtureVariables.label,
        '--namespace',
        fixtureVariables.namespace,
        '--token-auth',
        '--acr-data-endpoint',
        ...resolvers.flatMap((resolver) => ['--resolver', resolver.label]),
        ...[...overrides].flatMap(([name, override]) => [
          '--host-override',
          `${name}=:${override.port ?? ''}`,
        ]),
        '--ca-file',
        caFile,
        '--expected-issuer',
        ca.organization,
        ...(kubernetes !== undefined ? ['--kubeconfig', kubernetes.kubeconfig] : []),
      ],
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
