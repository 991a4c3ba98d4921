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
}

/** A pure function from results to diagnoses; one per detection. */
export type Detection = (results: readonly CheckResult[], context: DiagnosisContext) => Diagnosis[];

/**
 * The DNS zone an operator forwards or links for a name: for a `privatelink.` name the
 * private zone (`privatelink.blob.core.windows.net`), otherwise the last three labels.
 */
export function zoneOf(name: string): string {
  const labels = name.split('.');
  const privatelink = labels.indexOf('privatelink');
  if (privatelink >= 0) return labels.slice(privatelink).join('.');
  return labels.slice(-3).join('.');
}

/** Azure's recursive resolver inside every virtual network. */
export const AZURE_DNS = '168.63.129.16';
