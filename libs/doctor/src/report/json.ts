import type { DoctorReport } from './model.js';

/** The report as JSON (schema `skiff.dev/doctor-report/v1`, documented in docs/doctor.md). */
export function renderJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
