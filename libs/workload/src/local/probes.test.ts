import { describe, expect, it } from 'vitest';
import { inFlightOf, readinessOf } from './probes.js';

describe('inFlightOf', () => {
  it('reads the in-flight gauge of the scoring server, not a metric sharing its prefix', () => {
    const page = [
      '# HELP skiff_scoring_in_flight_requests Scoring requests currently inside run()',
      '# TYPE skiff_scoring_in_flight_requests gauge',
      'skiff_scoring_in_flight_requests_peak{service="a/b",replica="r"} 9',
      'skiff_scoring_in_flight_requests{service="a/b",replica="r"} 3',
    ].join('\n');
    expect(inFlightOf(page)).toBe(3);
    expect(inFlightOf('skiff_scoring_in_flight_requests 2\n')).toBe(2);
    expect(inFlightOf('process_cpu_seconds_total 1\n')).toBeUndefined();
  });
});

describe('readinessOf', () => {
  it("tells ready, init() failed and not yet apart by the scoring server's GET / answer", () => {
    expect(readinessOf({ status: 200, body: 'Healthy' })).toEqual({ kind: 'ready' });
    expect(readinessOf({ status: 503, body: 'init() failed: ValueError: x' })).toEqual({
      kind: 'init-failed',
      reason: 'init() failed: ValueError: x',
    });
    expect(readinessOf({ status: 503, body: 'init() has not finished' })).toEqual({
      kind: 'not-ready',
      reason: 'GET / answered 503 init() has not finished',
    });
    expect(readinessOf(new Error('connect ECONNREFUSED'))).toEqual({
      kind: 'not-ready',
      reason: 'connect ECONNREFUSED',
    });
  });
});
