import { isIP } from 'node:net';
import { cidrContains } from '../net/addresses.js';
import type { CheckOutcome, ProxyData } from './model.js';

/** What must bypass the proxy: in-cluster traffic that a proxy cannot carry. */
export interface ProxyBypassNeeds {
  /** The API server's names and addresses (FQDN, KUBERNETES_SERVICE_HOST). */
  readonly apiServer: readonly string[];
  /** The pod network (`10.244.0.0/16`); when absent it is reported as unchecked. */
  readonly podCidr?: string;
}

function entries(noProxy: string): string[] {
  return noProxy
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '');
}

/** Whether one NO_PROXY list lets `host` (a name or an IP) bypass the proxy. */
export function noProxyCovers(noProxy: string, host: string): boolean {
  const name = host.toLowerCase();
  return entries(noProxy).some((raw) => {
    if (raw === '*') return true;
    const entry = raw.replace(/^\*\./, '.').replace(/:\d+$/, '');
    if (entry.includes('/')) return isIP(name) !== 0 && cidrContains(entry, name);
    if (entry.startsWith('.')) return name.endsWith(entry) || name === entry.slice(1);
    return name === entry || name.endsWith(`.${entry}`);
  });
}

function coversCidr(noProxy: string, cidr: string): boolean {
  const [network, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  return entries(noProxy).some((entry) => {
    if (entry === '*') return true;
    const entryPrefix = entry.split('/')[1];
    return (
      entryPrefix !== undefined &&
      Number(entryPrefix) <= prefix &&
      cidrContains(entry, network ?? '')
    );
  });
}

function firstSet(
  env: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/**
 * With `HTTPS_PROXY`/`HTTP_PROXY` set, lists what `NO_PROXY` misses among the API server, `.svc`,
 * `.cluster.local` and the pod network. Undefined when no proxy is configured. Pure.
 */
export function proxyFindings(
  env: Readonly<Record<string, string | undefined>>,
  needs: ProxyBypassNeeds,
): ProxyData | undefined {
  const proxy = firstSet(env, ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']);
  if (proxy === undefined) return undefined;
  const noProxy = firstSet(env, ['NO_PROXY', 'no_proxy']) ?? '';
  const missing: string[] = [];
  for (const host of needs.apiServer) if (!noProxyCovers(noProxy, host)) missing.push(host);
  if (!noProxyCovers(noProxy, 'kubernetes.default.svc')) missing.push('.svc');
  if (!noProxyCovers(noProxy, 'kubernetes.default.svc.cluster.local'))
    missing.push('.cluster.local');
  const unchecked: string[] = [];
  if (needs.podCidr === undefined) unchecked.push('pod network (pass --pod-cidr)');
  else if (!coversCidr(noProxy, needs.podCidr)) missing.push(needs.podCidr);
  return { kind: 'proxy', proxy, noProxy, missing, unchecked };
}

/** The proxy check's outcome; `severity` is `fail` in-cluster, where the gap breaks pods. */
export function proxyOutcome(data: ProxyData, severity: 'fail' | 'warn'): CheckOutcome {
  if (data.missing.length === 0) {
    const note = data.unchecked.length > 0 ? `; not checked: ${data.unchecked.join(', ')}` : '';
    return { status: 'pass', detail: `NO_PROXY covers the cluster's own traffic${note}`, data };
  }
  return {
    status: severity,
    detail: `HTTPS_PROXY is set but NO_PROXY misses ${data.missing.join(', ')}`,
    data,
  };
}
