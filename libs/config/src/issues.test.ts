import { describe, expect, it } from 'vitest';
import { ConfigError, formatConfigIssue } from './issues.js';
import { parseConfigJson } from './document.js';

describe('ConfigError', () => {
  it('lists one issue per line and keeps the cause', () => {
    const cause = new Error('disk');
    const error = new ConfigError(
      [
        { file: 'a.json', path: 'x.y', message: 'expected 1, got 2' },
        { file: 'b.json', path: '', message: 'not valid JSON: oops' },
      ],
      { cause },
    );
    expect(error.message).toBe('a.json: x.y: expected 1, got 2\nb.json: not valid JSON: oops');
    expect(error.name).toBe('ConfigError');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
  });

  it('refuses to exist without issues', () => {
    expect(() => new ConfigError([])).toThrow(TypeError);
  });

  it('formats an issue without a path as file: message', () => {
    expect(formatConfigIssue({ file: 'f', path: '', message: 'm' })).toBe('f: m');
  });
});

describe('parseConfigJson', () => {
  it('ignores a byte-order mark', () => {
    expect(parseConfigJson('\uFEFF{"computeType":"aks"}', 'dc.json')).toEqual({
      computeType: 'aks',
    });
  });

  it('turns invalid JSON into a ConfigError naming the file', () => {
    expect(() => parseConfigJson('{"a": 1,}', 'dc.json')).toThrow(/^dc\.json: not valid JSON: /);
    expect(() => parseConfigJson('', 'dc.json')).toThrow(ConfigError);
  });
});
