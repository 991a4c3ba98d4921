import { describe, expect, it } from 'vitest';
import type { Check, CheckOutcome } from './model.js';
import { runChecks } from './runner.js';

function check(
  id: string,
  phase: number,
  prerequisites: string[],
  run: () => Promise<CheckOutcome>,
): Check {
  return {
    id,
    kind: 'tcp',
    phase,
    subject: id.split('.')[0] ?? id,
    required: true,
    why: 'test',
    prerequisites,
    run,
  };
}
const pass = (): Promise<CheckOutcome> => Promise.resolve({ status: 'pass', detail: 'ok' });
const fail = (): Promise<CheckOutcome> => Promise.resolve({ status: 'fail', detail: 'no' });

describe('runChecks', () => {
  it('runs the checks of a phase concurrently: each waits for all the others to start', async () => {
    const count = 6;
    let started = 0;
    let release: () => void = () => undefined;
    const allStarted = new Promise<void>((resolve) => (release = resolve));
    const barrier = async (): Promise<CheckOutcome> => {
      started += 1;
      if (started === count) release();
      await allStarted;
      return { status: 'pass', detail: 'ok' };
    };
    // Run one at a time, the first check would wait forever and time out as a failure.
    const results = await runChecks(
      Array.from({ length: count }, (_, index) => check(`host${index}.tcp`, 1, [], barrier)),
      { timeoutMs: 2_000 },
    );
    expect(results.map((result) => result.status)).toEqual(Array(count).fill('pass'));
  });

  it('runs phases in order: a later phase starts only after the earlier one ended', async () => {
    const order: string[] = [];
    const step = (name: string) => async (): Promise<CheckOutcome> => {
      order.push(`start ${name}`);
      await new Promise((resolve) => setImmediate(resolve));
      order.push(`end ${name}`);
      return { status: 'pass', detail: 'ok' };
    };
    await runChecks([check('b.tcp', 2, [], step('b')), check('a.tcp', 1, [], step('a'))], {
      timeoutMs: 1_000,
    });
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
  });

  it('reports a check whose prerequisite failed as blocked by the root cause, without running it', async () => {
    let ran = false;
    const results = await runChecks(
      [
        check('x.dns', 1, [], fail),
        check('x.tcp', 1, ['x.dns'], pass),
        check('x.tls', 1, ['x.tcp', 'x.dns'], () => {
          ran = true;
          return pass();
        }),
        check('later.tcp', 3, ['x.tls'], pass),
      ],
      { timeoutMs: 1_000 },
    );
    expect(results.map((result) => [result.id, result.status, result.blockedBy])).toEqual([
      ['x.dns', 'fail', undefined],
      ['x.tcp', 'blocked', 'x.dns'],
      ['x.tls', 'blocked', 'x.dns'],
      ['later.tcp', 'blocked', 'x.dns'],
    ]);
    expect(ran).toBe(false);
  });

  it('turns a check that never ends into a timeout failure, and a thrown error into a failure', async () => {
    const results = await runChecks(
      [
        check('hang.tcp', 1, [], () => new Promise<CheckOutcome>(() => undefined)),
        check('boom.tcp', 1, [], () => Promise.reject(new Error('boom'))),
      ],
      { timeoutMs: 50 },
    );
    expect(results.map((result) => [result.status, result.detail])).toEqual([
      ['fail', 'no result after 50 ms (timed out)'],
      ['fail', 'boom'],
    ]);
  });

  it('refuses unknown prerequisites and prerequisites in a later phase', async () => {
    await expect(runChecks([check('a.tcp', 1, ['nope'], pass)], { timeoutMs: 10 })).rejects.toThrow(
      /unknown prerequisite/,
    );
    await expect(
      runChecks([check('a.tcp', 1, ['b.tcp'], pass), check('b.tcp', 2, [], pass)], {
        timeoutMs: 10,
      }),
    ).rejects.toThrow(/later phase/);
  });
});
