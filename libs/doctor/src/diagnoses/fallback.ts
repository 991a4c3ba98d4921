import type { CheckResult } from '../checks/model.js';
import type { Diagnosis } from './model.js';

function explain(result: CheckResult): Pick<Diagnosis, 'summary' | 'fix' | 'rule'> {
  const host = result.host ?? result.subject;
  const port = result.port ?? 443;
  switch (result.data?.kind) {
    case 'dns':
      return {
        summary: `${host} does not resolve (${result.detail}).`,
        fix: `Check the name (template variables such as --acr, --storage-account) and make it resolvable from the cluster's DNS.`,
        rule: `dns: ${host} must resolve from the cluster's resolver`,
      };
    case 'tcp':
      return {
        summary: `TCP ${port} to ${host} failed (${result.detail}): nothing listens there, or a firewall rejects the connection.`,
        fix: `Allow egress TCP ${port} to ${host}, and check that the address DNS returns is the service's.`,
        rule: `firewall: allow TCP ${port} from the cluster subnet to ${host} (FQDN rule)`,
      };
    case 'tls':
      return {
        summary: `The TLS handshake with ${host} failed (${result.detail}).`,
        fix: `Check that ${host}:${port} is the real service and not a proxy or captive endpoint answering in its place.`,
        rule: `firewall: allow TLS to ${host}:${port} without inspection`,
      };
    case 'http':
      return {
        summary: `${host} answered the HTTP probe unexpectedly (${result.detail}): a proxy or firewall may be answering in its place.`,
        fix: `Make sure requests to ${host} reach the service directly.`,
        rule: `firewall: allow HTTPS to ${host} (application rule)`,
      };
    case 'pods':
      return {
        summary: `The Kubernetes API did not list pods (${result.detail}).`,
        fix: `Check the kubeconfig or service account and that it may list pods in the namespace (RBAC: get, list pods).`,
        rule: `rbac: allow list pods in the router's namespace`,
      };
    default:
      return { summary: result.detail, fix: 'See the detail above.', rule: '-' };
  }
}

/** A plain explanation for any failed check no specific detection explains. */
export function fallbackDiagnoses(
  results: readonly CheckResult[],
  explained: ReadonlySet<string>,
): Diagnosis[] {
  return results
    .filter((result) => result.status === 'fail' && !explained.has(result.id))
    .map((result) => ({
      id: `${result.kind}.failed`,
      severity: 'fail',
      checkId: result.id,
      ...explain(result),
    }));
}
