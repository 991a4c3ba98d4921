import { DoctorUsageError } from '../errors.js';

const units: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `5s`, `5m`, `1h` or a bare number of seconds into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null)
    throw new DoctorUsageError(`${flag} ${text}: expected a duration such as 500ms, 5s or 5m`);
  const milliseconds = Math.round(Number(match[1]) * (units[match[2] ?? 's'] ?? 1_000));
  if (milliseconds <= 0) throw new DoctorUsageError(`${flag} ${text}: must be more than zero`);
  return milliseconds;
}
