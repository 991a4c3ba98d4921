import type { CheckResult } from '../checks/model.js';

/** An explanation of a failed or suspicious check, with the fix an operator applies. */
export interface Diagnosis {
  /** Stable identifier, e.g. `dns.not-forwarding`; listed in docs/doctor.md. */
  readonly id: string;
  readonly severity: 'fail' | 'warn';
  /** The check it explains. */
  readonly checkId: string;
  /** What is wrong, in the operator's terms. */
  readonly summary: string;
  /** What to do, as a sentence. */
  readonly fix: string;
  /** The DNS or firewall rule to add, in one line. */
  readonly rule: string;
}

/** What diagnoses know besides the results. */
export interface DiagnosisContext {
  /** A DNS answer slower than this (ms) is reported as slow. */
  readonly slowDnsMs: number;
  /** Resolver labels in the order asked; the first is the one in effect. */
  readonly resolvers: readonly string[];
  /** Host ids → the hosts they serve as a data endpoint for (from the plan). */
  readonly dataEndpointOf: ReadonlyMap<string, string>;
  /** The `--trust` mode public hosts were verified in, when the caller reports it. */
  readonly trustMode?: 'system' | 'bundled';
}

/** A pure function from results to diagnoses; one per detection. */
export type Detection = (results: readonly CheckResult[], context: DiagnosisContext) => Diagnosis[];

// Zones Azure serves the plan's names from; a forwarder for the zone covers every name in it.
const knownZones = [
  'azmk8s.io',
  'data.mcr.microsoft.com',
  'microsoft.com',
  'data.azurecr.io',
  'azurecr.io',
  'blob.core.windows.net',
  'table.core.windows.net',
  'kusto.windows.net',
  'core.windows.net',
  'cloudapp.azure.com',
  'azureml.ms',
];

/**
 * The DNS zone an operator forwards or links for a name: for a `privatelink.` name the
 * private zone (`privatelink.blob.core.windows.net`), for a known Azure name its zone
 * (`azurecr.io`), otherwise the name's parent.
 */
export function zoneOf(name: string): string {
  const labels = name.split('.');
  const privatelink = labels.indexOf('privatelink');
  if (privatelink >= 0) return labels.slice(privatelink).join('.');
  const known = knownZones.find((zone) => name === zone || name.endsWith(`.${zone}`));
  if (known !== undefined) return known;
  return labels.length > 2 ? labels.slice(1).join('.') : name;
}

/** Azure's recursive resolver inside every virtual network. */
export const AZURE_DNS = '168.63.129.16';
