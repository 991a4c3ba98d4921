import { describe, expect, it } from 'vitest';
import { UsageError } from './connection/session.js';
import type { CliIo } from './io.js';
import { allPages, enumLabel, keyValues, printFields, printTable } from './output.js';
import { parseModelRef } from './commands/model.js';

function capture(): CliIo & {
  out: (text: string) => void;
  text: () => string;
  errors: () => string;
} {
  let out = '';
  let err = '';
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    cwd: '/',
    env: {},
    text: () => out,
    errors: () => err,
  };
}

describe('output helpers', () => {
  it('spells enum names the way Azure ML showed them', () => {
    expect(enumLabel('WEBSERVICE_STATE_HEALTHY', 'WEBSERVICE_STATE_')).toBe('Healthy');
    expect(enumLabel('CLUSTER_PURPOSE_DEV_TEST', 'CLUSTER_PURPOSE_')).toBe('DevTest');
    expect(enumLabel('DEPLOYMENT_STEP_WORKLOAD_APPLIED', 'DEPLOYMENT_STEP_')).toBe(
      'WorkloadApplied',
    );
    expect(enumLabel('COMPUTE_STATE_UNSPECIFIED', 'COMPUTE_STATE_')).toBe('');
  });

  it('pads table columns to the widest cell, and notes an empty list on stderr', () => {
    const io = capture();
    printTable(
      io,
      ['NAME', 'STATE'],
      [
        ['iris-svc', 'Healthy'],
        ['a', 'Failed'],
      ],
      'none',
    );
    expect(io.text()).toBe('NAME      STATE\niris-svc  Healthy\na         Failed\n');
    const empty = capture();
    printTable(empty, ['NAME'], [], 'No services.');
    expect(empty.text()).toBe('');
    expect(empty.errors()).toBe('No services.\n');
  });

  it('aligns labels and leaves out empty values', () => {
    const io = capture();
    printFields(io, [
      ['Name', 'iris'],
      ['Description', ''],
      ['Scoring URI', 'http://x'],
    ]);
    expect(io.text()).toBe('Name:        iris\nScoring URI: http://x\n');
  });

  it('reads every page of a list', async () => {
    const pages: Record<string, { items: number[]; nextPageToken: string }> = {
      '': { items: [1, 2], nextPageToken: 'p2' },
      p2: { items: [3], nextPageToken: 'p3' },
      p3: { items: [], nextPageToken: '' },
    };
    expect(await allPages((token) => Promise.resolve(pages[token]!))).toEqual([1, 2, 3]);
  });

  it('parses key=value options and refuses others as usage errors', () => {
    expect(keyValues(['a=1', 'b=x=y', 'c='], '--tag')).toEqual({ a: '1', b: 'x=y', c: '' });
    expect(() => keyValues(['=1'], '--tag')).toThrow(UsageError);
    expect(() => keyValues(['novalue'], '--tag')).toThrow(
      "--tag: expected key=value, got 'novalue'",
    );
  });

  it('parses -m NAME[:VERSION], no version meaning the latest', () => {
    expect(parseModelRef('iris:3')).toEqual({ name: 'iris', version: 3 });
    expect(parseModelRef('iris.v2_x-y')).toEqual({ name: 'iris.v2_x-y', version: 0 });
    for (const bad of ['', 'a:b', 'a:1:2', 'sp ace', ':1'])
      expect(() => parseModelRef(bad)).toThrow(UsageError);
  });
});
