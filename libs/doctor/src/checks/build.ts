import type { RenderedPlan } from '../plan/render.js';
import type { HostOverride } from '../net/overrides.js';
import type { Resolver } from '../net/resolvers.js';
import type { ConnectPolicy } from './connect.js';
import { runDnsCheck } from './dns.js';
import { runHttpCheck } from './http.js';
import { runPodConnectCheck, runPodsCheck, type KubernetesAccess } from './kubernetes.js';
import type { Check, CheckContext, CheckResult } from './model.js';
import { proxyFindings, proxyOutcome } from './proxy.js';
import { runTcpCheck } from './tcp.js';
import { rootsFor, runTlsCheck, type TlsTrust } from './tls.js';

/** The environment checks run in: resolvers, overrides, trust, cluster access. */
export interface CheckEnvironment {
  /** Asked separately, in order; never empty (the caller picks system or --resolver ones). */
  readonly resolvers: readonly Resolver[];
  /** By lowercase host name. */
  readonly overrides: ReadonlyMap<string, HostOverride>;
  readonly trust: TlsTrust;
  readonly allowConnect: ConnectPolicy;
  readonly kubernetes?: KubernetesAccess;
  /** Proxy variables to check; absent: no proxy check. */
  readonly proxy?: {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly podCidr?: string;
    /** `fail` in-cluster (pods inherit the gap), `warn` elsewhere. */
    readonly severity: 'fail' | 'warn';
  };
}

function addressOf(context: CheckContext, dnsId: string): string {
  const dns = context.prerequisite(dnsId).data;
  const address = dns?.kind === 'dns' ? dns.addresses[0] : undefined;
  if (address === undefined) throw new Error(`${dnsId} passed without an address`);
  return address;
}

/** Turns a rendered plan into checks with explicit prerequisites (dns → tcp → tls → http). */
export function buildChecks(plan: RenderedPlan, environment: CheckEnvironment): Check[] {
  const checks: Check[] = [];
  for (const entry of plan.hosts) {
    const override = environment.overrides.get(entry.host);
    const port = override?.port ?? entry.port;
    const common = {
      phase: entry.phase,
      subject: entry.id,
      host: entry.host,
      required: entry.required,
      why: entry.why,
    };
    const dnsId = `${entry.id}.dns`;
    checks.push({
      ...common,
      id: dnsId,
      kind: 'dns',
      prerequisites: [],
      run: (context) =>
        runDnsCheck(
          {
            host: entry.host,
            resolvers: environment.resolvers,
            ...(override !== undefined ? { override } : {}),
          },
          context,
        ),
    });
    if (entry.protocol === 'dns') continue;
    const tcpId = `${entry.id}.tcp`;
    checks.push({
      ...common,
      port,
      id: tcpId,
      kind: 'tcp',
      prerequisites: [dnsId],
      run: (context) =>
        runTcpCheck(
          { address: addressOf(context, dnsId), port, allowConnect: environment.allowConnect },
          context,
        ),
    });
    if (entry.protocol === 'tcp') continue;
    const tlsId = `${entry.id}.tls`;
    checks.push({
      ...common,
      port,
      id: tlsId,
      kind: 'tls',
      prerequisites: [tcpId, dnsId],
      run: (context) =>
        runTlsCheck(
          {
            host: entry.host,
            address: addressOf(context, dnsId),
            port,
            trust: entry.trust,
            trustStore: environment.trust,
            allowConnect: environment.allowConnect,
          },
          context,
        ),
    });
    if (entry.protocol === 'tls' || entry.http === undefined) continue;
    const http = entry.http;
    checks.push({
      ...common,
      port,
      id: `${entry.id}.http`,
      kind: 'http',
      prerequisites: [tlsId, dnsId],
      run: (context) =>
        runHttpCheck(
          {
            host: entry.host,
            address: addressOf(context, dnsId),
            port,
            path: http.path,
            ...(http.expectStatus !== undefined ? { expectStatus: http.expectStatus } : {}),
            roots: rootsFor(entry.trust, environment.trust),
            allowConnect: environment.allowConnect,
          },
          context,
        ),
    });
  }
  const kubernetes = environment.kubernetes;
  if (kubernetes !== undefined) {
    for (const entry of plan.pods) {
      const common = {
        phase: entry.phase,
        subject: entry.id,
        required: entry.required,
        why: entry.why,
      };
      const listId = `${entry.id}.pods`;
      checks.push({
        ...common,
        id: listId,
        kind: 'pods',
        prerequisites: [],
        run: (context) =>
          runPodsCheck(
            {
              namespace: entry.namespace,
              labelSelector: entry.labelSelector,
              defaultPort: entry.port,
              lister: kubernetes.pods,
            },
            context,
          ),
      });
      checks.push({
        ...common,
        id: `${entry.id}.connect`,
        kind: 'pod-connect',
        prerequisites: [listId],
        run: (context) => {
          const listed: CheckResult = context.prerequisite(listId);
          const pods = listed.data?.kind === 'pods' ? listed.data.pods : [];
          return runPodConnectCheck({ pods, allowConnect: environment.allowConnect }, context);
        },
      });
    }
  }
  const proxy = environment.proxy;
  const apiServer = plan.hosts
    .filter((host) => host.id.startsWith('api-server'))
    .map((host) => host.host);
  const findings =
    proxy === undefined
      ? undefined
      : proxyFindings(proxy.env, {
          apiServer,
          ...(proxy.podCidr !== undefined ? { podCidr: proxy.podCidr } : {}),
        });
  if (proxy !== undefined && findings !== undefined) {
    checks.push({
      id: 'proxy.env',
      kind: 'proxy',
      phase: 1,
      subject: 'proxy',
      required: true,
      why: 'Pods and nodes with HTTPS_PROXY send everything not in NO_PROXY to the proxy, including in-cluster traffic.',
      prerequisites: [],
      run: () => Promise.resolve(proxyOutcome(findings, proxy.severity)),
    });
  }
  return checks;
}
