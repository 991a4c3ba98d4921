import type { CheckResult, DnsData, DnsQuery } from '../checks/model.js';
import { AZURE_DNS, zoneOf, type Detection, type Diagnosis } from './model.js';

function dnsResults(results: readonly CheckResult[]): (CheckResult & { data: DnsData })[] {
  return results.filter(
    (result): result is CheckResult & { data: DnsData } => result.data?.kind === 'dns',
  );
}

const answered = (query: DnsQuery | undefined): boolean =>
  query !== undefined && query.addresses.length > 0;
const describe = (query: DnsQuery): string =>
  query.error !== undefined
    ? query.error === 'timeout'
      ? 'no answer (timeout)'
      : query.error
    : query.addresses.length > 0
      ? query.addresses.join(', ')
      : query.rcode === 'NOERROR'
        ? 'no address'
        : (query.rcode ?? 'no answer');
const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

function aQueries(data: DnsData): DnsQuery[] {
  return data.queries.filter((query) => query.type === 'A');
}

/** The resolver in effect answers with an error where another resolver answers. */
export const notForwarding: Detection = (results, context) => {
  const [primary] = context.resolvers;
  return dnsResults(results).flatMap((result): Diagnosis[] => {
    const queries = aQueries(result.data);
    const first = queries.find((query) => query.resolver === primary);
    const other = queries.find((query) => query.resolver !== primary && answered(query));
    if (first === undefined || other === undefined || answered(first) || first.error !== undefined)
      return [];
    const host = result.host ?? '';
    return [
      {
        id: 'dns.not-forwarding',
        severity: 'fail',
        checkId: result.id,
        summary: `${primary} answers ${describe(first)} for ${host} while ${other.resolver} resolves it to ${other.addresses.join(', ')}: the custom DNS server does not forward what it is not authoritative for.`,
        fix: `Configure the DNS server at ${primary} to forward queries it cannot answer to Azure DNS (${AZURE_DNS}) or your upstream resolver.`,
        rule: `dns: on ${primary}, forward ${zoneOf(host)} (or .) to ${AZURE_DNS}`,
      },
    ];
  });
};

/** Two resolvers give different answers while the one in effect answers. */
export const resolversDisagree: Detection = (results, context) => {
  const [primary] = context.resolvers;
  return dnsResults(results).flatMap((result): Diagnosis[] => {
    const queries = aQueries(result.data);
    const first = queries.find((query) => query.resolver === primary);
    if (first === undefined || !answered(first)) return [];
    const differing = queries.filter(
      // A resolver that did not answer is dns.timeout's to explain.
      (query) =>
        query.resolver !== primary &&
        query.error === undefined &&
        !sameSet(query.addresses, first.addresses),
    );
    if (differing.length === 0) return [];
    const host = result.host ?? '';
    const others = differing.map((query) => `${query.resolver} → ${describe(query)}`).join('; ');
    return [
      {
        id: 'dns.resolvers-disagree',
        severity: 'warn',
        checkId: result.id,
        summary: `Resolvers disagree on ${host}: ${primary} → ${first.addresses.join(', ')}; ${others}. Nodes or pods that use another resolver will reach a different place, or none.`,
        fix: `Make every resolver the cluster uses give the same answer for ${host} (same forwarders, same private zones).`,
        rule: `dns: ${differing.map((query) => query.resolver).join(', ')} must resolve ${host} like ${primary} (forward ${zoneOf(host)} to ${AZURE_DNS})`,
      },
    ];
  });
};

/** AAAA answered with REFUSED or SERVFAIL while A works. */
export const aaaaRefused: Detection = (results) =>
  dnsResults(results).flatMap((result): Diagnosis[] => {
    const bad = result.data.queries.filter(
      (query) =>
        query.type === 'AAAA' &&
        (query.rcode === 'REFUSED' || query.rcode === 'SERVFAIL') &&
        answered(result.data.queries.find((a) => a.type === 'A' && a.resolver === query.resolver)),
    );
    if (bad.length === 0) return [];
    const host = result.host ?? '';
    const where = bad.map((query) => `${query.resolver} (${query.rcode ?? ''})`).join(', ');
    return [
      {
        id: 'dns.aaaa-refused',
        severity: 'warn',
        checkId: result.id,
        summary: `${where} answers the AAAA (IPv6) query for ${host} with an error while A works: resolvers that ask both (glibc, musl) may fail or wait for their timeout.`,
        fix: `Make the DNS server answer AAAA queries with NOERROR and no records instead of REFUSED/SERVFAIL.`,
        rule: `dns: on ${bad.map((query) => query.resolver).join(', ')}, answer AAAA ${host} with NOERROR (empty)`,
      },
    ];
  });

/** A resolver answered, but slower than the threshold; or did not answer at all. */
export const slowDns: Detection = (results, context) =>
  dnsResults(results).flatMap((result): Diagnosis[] => {
    const host = result.host ?? '';
    const timedOut = result.data.queries.filter((query) => query.error === 'timeout');
    const slow = result.data.queries.filter(
      (query) => query.error === undefined && query.latencyMs > context.slowDnsMs,
    );
    const diagnoses: Diagnosis[] = [];
    if (timedOut.length > 0) {
      const resolvers = [...new Set(timedOut.map((query) => query.resolver))];
      const primaryTimedOut =
        resolvers.includes(context.resolvers[0] ?? '') && result.status === 'fail';
      diagnoses.push({
        id: 'dns.timeout',
        severity: primaryTimedOut ? 'fail' : 'warn',
        checkId: result.id,
        summary: `${resolvers.join(', ')} did not answer for ${host}: the resolver is unreachable (UDP/TCP 53 blocked) or overloaded.`,
        fix: `Allow DNS (UDP and TCP 53) from the cluster to ${resolvers.join(', ')}, or point the cluster at a resolver that answers.`,
        rule: `firewall: allow UDP+TCP 53 from the cluster subnet to ${resolvers.join(', ')}`,
      });
    }
    if (slow.length > 0) {
      const slowest = slow.reduce((a, b) => (b.latencyMs > a.latencyMs ? b : a));
      diagnoses.push({
        id: 'dns.slow',
        severity: 'warn',
        checkId: result.id,
        summary: `${slowest.resolver} took ${slowest.latencyMs} ms to answer ${slowest.type} ${host} (threshold ${context.slowDnsMs} ms): image pulls and API calls stall, and clients with short DNS timeouts fail.`,
        fix: `Check the DNS server's upstream forwarders and load; forward ${zoneOf(host)} straight to ${AZURE_DNS}.`,
        rule: `dns: on ${slowest.resolver}, forward ${zoneOf(host)} to ${AZURE_DNS} (answer under ${context.slowDnsMs} ms)`,
      });
    }
    return diagnoses;
  });

/** A `privatelink.` CNAME that resolves to a public address, or not at all. */
export const privatelink: Detection = (results) =>
  dnsResults(results).flatMap((result): Diagnosis[] => {
    const problem = result.data.privatelink;
    if (problem === undefined) return [];
    const host = result.host ?? '';
    const zone = zoneOf(problem.name);
    return [
      {
        id:
          problem.problem === 'public-address'
            ? 'dns.privatelink-public'
            : 'dns.privatelink-unresolved',
        severity: 'fail',
        checkId: result.id,
        summary:
          problem.problem === 'public-address'
            ? `${host} is a private endpoint (CNAME ${problem.name}) but resolves to the public address ${problem.addresses.join(', ')}: the private DNS zone ${zone} is not visible to the cluster's resolver, so traffic would go to the public endpoint, which a private-endpoint setup blocks.`
            : `${host} is a private endpoint (CNAME ${problem.name}) but ${problem.name} does not resolve: the private DNS zone ${zone} is missing its record or is not linked.`,
        fix: `Link the private DNS zone ${zone} to the cluster's virtual network, or (custom DNS) conditionally forward ${zone} to ${AZURE_DNS}.`,
        rule: `dns: forward ${zone} to ${AZURE_DNS} (private DNS zone ${zone} linked to the cluster VNet)`,
      },
    ];
  });
