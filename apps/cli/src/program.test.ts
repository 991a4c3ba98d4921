import { describe, expect, it } from 'vitest';
import { runSkiff } from './test-support/control-plane.js';

// A usage error is one line on stderr (scripts read the first line) with exit 2.
describe('usage errors', () => {
  it.each([
    [['--bogus'], "error: unknown option '--bogus'"],
    [['model', 'list', '--bogus'], "error: unknown option '--bogus'"],
    [['service', 'update'], "error: required option '-n, --name <service>' not specified"],
    [['nonsense'], "error: unknown command 'nonsense'"],
    [['model', 'deploy', '-n', 'svc-a', '--bogus'], "error: unknown option '--bogus'"],
    [
      ['model', 'deploy', '-n', 'svc-a', '--cc'],
      "error: option '--cc, --cpu-cores <cores>' argument missing",
    ],
  ])('skiff %j: one line, exit 2', async (argv, message) => {
    const run = await runSkiff(argv, {});
    expect(run.err).toBe(`${message} (run with --help for usage)\n`);
    expect(run.code).toBe(2);
    expect(run.out).toBe('');
  });
});
