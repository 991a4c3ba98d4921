import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendDriverNote,
  lastErrorOf,
  lastLines,
  lastTracebackOf,
  parseLogLine,
  parseLogLines,
} from './logs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-logs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('replica.log lines', () => {
  it('parses time, stream and text, keeping spaces and unknown shapes', () => {
    const fallback = new Date(5);
    expect(parseLogLine('r', '2026-01-02T03:04:05.678Z stderr  two  spaces ', fallback)).toEqual({
      replicaId: 'r',
      time: new Date('2026-01-02T03:04:05.678Z'),
      stream: 'stderr',
      text: ' two  spaces ',
    });
    expect(parseLogLine('r', 'no stamp here', fallback)).toEqual({
      replicaId: 'r',
      time: fallback,
      stream: 'stdout',
      text: 'no stamp here',
    });
    // An unstamped line takes the time of the line before it.
    const [, second] = parseLogLines('r', ['2026-01-02T03:04:05.678Z stdout a', 'b']);
    expect(second?.time).toEqual(new Date('2026-01-02T03:04:05.678Z'));
  });

  it('appends driver notes as stderr lines marked [skiff]', async () => {
    const file = join(dir, 'replica.log');
    await appendDriverNote(file, 'exited with code 1', new Date('2026-01-02T00:00:00.000Z'));
    expect(parseLogLines('r', await lastLines(file, 5))).toEqual([
      {
        replicaId: 'r',
        time: new Date('2026-01-02T00:00:00.000Z'),
        stream: 'stderr',
        text: '[skiff] exited with code 1',
      },
    ]);
  });
});

describe('lastLines', () => {
  it('returns the last complete lines across read chunks, without a line still being written', async () => {
    const file = join(dir, 'big.log');
    const lines = Array.from({ length: 5_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
    await writeFile(file, `${lines.join('\n')}\n`);
    await appendFile(file, 'partial');
    expect(await lastLines(file, 3_000)).toEqual(lines.slice(-3_000));
    expect(await lastLines(file, 1)).toEqual([lines.at(-1)]);
    expect(await lastLines(file, 10_000)).toEqual(lines);
    expect(await lastLines(join(dir, 'missing.log'), 3)).toEqual([]);
  });
});

describe('what went wrong', () => {
  const at = (text: string, stream: 'stdout' | 'stderr' = 'stdout') => ({
    replicaId: 'r',
    time: new Date(0),
    stream,
    text,
  });

  it('is the last stderr line or error-level pino message, never a note of the driver', () => {
    const lines = [
      at('boom', 'stderr'),
      at('{"level":50,"msg":"cannot listen on 127.0.0.1:1"}'),
      at('{"level":30,"msg":"stopping"}'),
      at('[skiff] exited with code 1', 'stderr'),
    ];
    expect(lastErrorOf(lines)).toBe('cannot listen on 127.0.0.1:1');
    expect(lastErrorOf(lines.slice(0, 1))).toBe('boom');
    expect(lastErrorOf([at('{"level":30,"msg":"fine"}')])).toBe('');
  });

  it('finds the traceback of the last init() failure', () => {
    const lines = [
      at('{"level":50,"traceback":"Traceback 1","msg":"init() failed"}'),
      at('{"level":50,"traceback":"Traceback 2","msg":"init() failed"}'),
      at('{"level":30,"msg":"later"}'),
    ];
    expect(lastTracebackOf(lines)).toBe('Traceback 2');
    expect(lastTracebackOf([])).toBe('');
  });
});
