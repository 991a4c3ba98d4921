import type { CheckResult } from '../checks/model.js';
import { aaaaRefused, notForwarding, privatelink, resolversDisagree, slowDns } from './dns.js';
import { fallbackDiagnoses } from './fallback.js';
import type { Detection, Diagnosis, DiagnosisContext } from './model.js';
import {
  dataEndpointBlocked,
  podsUnreachable,
  proxyBypass,
  tcpTimeout,
  tlsInterception,
} from './network.js';

/** Every detection, in the order their diagnoses are listed. */
export const detections: readonly Detection[] = [
  notForwarding,
  resolversDisagree,
  aaaaRefused,
  slowDns,
  privatelink,
  tcpTimeout,
  tlsInterception,
  dataEndpointBlocked,
  podsUnreachable,
  proxyBypass,
];

/** Runs every detection over the results, then explains the failures none of them covered. */
export function diagnose(results: readonly CheckResult[], context: DiagnosisContext): Diagnosis[] {
  const specific = detections.flatMap((detection) => detection(results, context));
  const explained = new Set(
    specific
      .filter((diagnosis) => diagnosis.severity === 'fail')
      .map((diagnosis) => diagnosis.checkId),
  );
  return [...specific, ...fallbackDiagnoses(results, explained)];
}
