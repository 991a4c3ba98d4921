import { afterEach, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorRunOptions } from './doctor.js';
import { renderHuman } from './report/human.js';
import {
  loopbackOnly,
  startDoctorFixture,
  type DoctorFixture,
  type DoctorFixtureOptions,
} from './test-support/index.js';

let fixture: DoctorFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function run(options: DoctorFixtureOptions = {}, extra: Partial<DoctorRunOptions> = {}) {
  fixture = await startDoctorFixture(options);
  return runDoctor({
    plan: fixture.plan,
    resolvers: fixture.resolvers,
    overrides: fixture.overrides,
    trust: fixture.trust,
    allowConnect: loopbackOnly,
    timeoutMs: 1_000,
    ...extra,
  });
}

describe('runDoctor against the loopback fixture', () => {
  it('passes every check of the default plan when everything answers', async () => {
    const report = await run();
    const checks = report.phases.flatMap((phase) => phase.checks);
    expect(
      checks.filter((check) => check.status !== 'pass'),
      renderHuman(report),
    ).toEqual([]);
    expect(report.summary.exitCode).toBe(0);
    expect(report.diagnoses).toEqual([]);
    // dns → tcp → tls (→ http) for every https host.
    expect(checks.map((check) => check.id)).toContain('mcr.http');
    expect(report.phases.map((phase) => phase.phase)).toEqual([1, 3, 4, 5]);
  });
});
