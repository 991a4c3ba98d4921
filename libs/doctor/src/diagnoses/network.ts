import type { CheckResult } from '../checks/model.js';
import type { Detection, Diagnosis } from './model.js';

const firewallRule = (port: number | undefined, host: string) =>
  `firewall: allow TCP ${port ?? 443} from the cluster subnet to ${host} (FQDN rule)`;

/** DNS resolved, but the TCP connect timed out: a route or network rule, not DNS. */
export const tcpTimeout: Detection = (results) =>
  results.flatMap((result): Diagnosis[] => {
    if (result.data?.kind !== 'tcp' || result.data.error !== 'timeout') return [];
    const host = result.host ?? result.data.address;
    return [
      {
        id: 'network.tcp-timeout',
        severity: 'fail',
        checkId: result.id,
        summary: `DNS is fine (${host} → ${result.data.address}), but TCP ${result.data.port} timed out: a route (UDR to a firewall) or a network security rule drops the traffic. This is not a DNS problem.`,
        fix: `Allow egress TCP ${result.port ?? result.data.port} to ${host} on the firewall or network security group in the cluster's path.`,
        rule: firewallRule(result.port, host),
      },
    ];
  });

// Which roots a failed chain was checked against, in the operator's words.
function against(verifiedAgainst: string, mode: 'system' | 'bundled' | undefined): string {
  if (verifiedAgainst === 'cluster') return ' against the cluster CA';
  if (mode === 'bundled') return " against Node's bundled roots (--trust bundled)";
  if (mode === 'system')
    return " against Node's bundled roots, the system store and NODE_EXTRA_CA_CERTS";
  return '';
}

/** The certificate does not chain to a trusted root, or comes from an unexpected issuer. */
export const tlsInterception: Detection = (results, context) =>
  results.flatMap((result): Diagnosis[] => {
    const data = result.data;
    if (data?.kind !== 'tls') return [];
    const issuer = data.issuer?.organization ?? data.issuer?.commonName ?? 'an unknown issuer';
    const host = result.host ?? data.servername;
    const rule = `firewall: exclude ${host} from TLS inspection`;
    if (data.chainValid === false) {
      return [
        {
          id: 'tls.interception',
          severity: 'fail',
          checkId: result.id,
          summary: `The certificate presented for ${host} is issued by "${issuer}" and does not verify${against(data.verifiedAgainst, context.trustMode)} (${data.chainError ?? 'untrusted'}): something between the cluster and ${host} intercepts TLS.`,
          fix: `Exclude ${host} from TLS inspection on the proxy or firewall; if the inspection is intended, trust "${issuer}" on every node and in every image (the system CA bundle, or NODE_EXTRA_CA_CERTS for Node), and run the doctor with --trust system (the default) or --ca-file.`,
          rule,
        },
      ];
    }
    if (data.issuerExpected === false) {
      return [
        {
          id: 'tls.unexpected-issuer',
          severity: 'warn',
          checkId: result.id,
          summary: `${host} presents a certificate from "${issuer}", which is trusted here but not one of the expected public CAs: TLS is inspected by a trusted proxy. Pods that do not trust that CA will fail.`,
          fix: `Exclude ${host} from TLS inspection, or make sure every image trusts "${issuer}" (or add it with --expected-issuer if this is intended).`,
          rule,
        },
      ];
    }
    return [];
  });

function lastOfChain(results: readonly CheckResult[], subject: string): CheckResult | undefined {
  return results.filter((result) => result.subject === subject).at(-1);
}

/** A registry answers, but its data endpoint (where layers come from) is blocked. */
export const dataEndpointBlocked: Detection = (results, context) =>
  [...context.dataEndpointOf].flatMap(([endpoint, registry]): Diagnosis[] => {
    const chain = results.filter((result) => result.subject === endpoint);
    const failed = chain.find((result) => result.status === 'fail');
    const registryLast = lastOfChain(results, registry);
    if (failed === undefined || registryLast === undefined) return [];
    if (registryLast.status !== 'pass' && registryLast.status !== 'warn') return [];
    const host = failed.host ?? endpoint;
    return [
      {
        id: 'registry.data-endpoint-blocked',
        severity: 'fail',
        checkId: failed.id,
        summary: `${registryLast.host ?? registry} answers, but its data endpoint ${host} is blocked (${failed.kind}: ${failed.detail}): image pulls start, then hang or fail while downloading layers.`,
        fix: `Make ${host} resolvable and reachable from the cluster, like ${registryLast.host ?? registry} itself: registries send clients to their data endpoint for the layers.`,
        rule: firewallRule(
          failed.port,
          host.includes('.data.mcr.') ? `${host}, *.data.mcr.microsoft.com` : host,
        ),
      },
    ];
  });

/** Listed pods do not accept connections. */
export const podsUnreachable: Detection = (results) =>
  results.flatMap((result): Diagnosis[] => {
    if (result.data?.kind !== 'pod-connect' || result.status !== 'fail') return [];
    const failed = result.data.results.filter((pod) => pod.error !== undefined);
    const ports = [...new Set(failed.map((pod) => pod.port))].join(', ');
    return [
      {
        id: 'pods.unreachable',
        severity: 'fail',
        checkId: result.id,
        summary: `${failed.length} pod(s) of ${result.subject} do not accept connections on ${ports} (${failed.map((pod) => `${pod.name}: ${pod.error ?? ''}`).join('; ')}): a NetworkPolicy or a network security rule between nodes blocks pod-to-pod traffic.`,
        fix: `Allow pod-to-pod traffic on TCP ${ports} between the router and these pods (NetworkPolicy, and the NSG on the node subnet for CNI networking).`,
        rule: `network policy: allow ingress TCP ${ports} to ${result.subject} pods from the router pods`,
      },
    ];
  });

/** HTTPS_PROXY set while NO_PROXY misses in-cluster destinations. */
export const proxyBypass: Detection = (results) =>
  results.flatMap((result): Diagnosis[] => {
    if (result.data?.kind !== 'proxy' || result.data.missing.length === 0) return [];
    const { noProxy, missing } = result.data;
    const fixed = [...(noProxy === '' ? [] : [noProxy]), ...missing].join(',');
    return [
      {
        id: 'proxy.no-proxy-gaps',
        severity: result.status === 'fail' ? 'fail' : 'warn',
        checkId: result.id,
        summary: `HTTPS_PROXY is set (${result.data.proxy}) but NO_PROXY misses ${missing.join(', ')}: calls to the API server and to services inside the cluster go to the proxy, which cannot reach them.`,
        fix: `Add the missing entries to NO_PROXY wherever HTTPS_PROXY is set (node configuration, pod environment).`,
        rule: `env: NO_PROXY=${fixed}`,
      },
    ];
  });
