import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  NotFoundError,
  SkiffError,
  UnavailableError,
  isErrorKind,
} from './index.js';

describe('domain errors', () => {
  it('carry kind, field and cause, and keep their class name', () => {
    const cause = new Error('ECONNREFUSED 127.0.0.1:6379');
    const error = new UnavailableError('the state store is unreachable', { cause });
    expect(error).toBeInstanceOf(SkiffError);
    expect(error.kind).toBe('unavailable');
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('UnavailableError');
    expect(isErrorKind(error, 'unavailable')).toBe(true);
    expect(isErrorKind(error, 'not-found')).toBe(false);
    expect(isErrorKind(new Error('x'), 'unavailable')).toBe(false);
  });

  it('keep every problem of an invalid request', () => {
    const error = new InvalidArgumentError('2 problems', {
      problems: ['a: expected x', 'b: expected y'],
      field: 'a',
    });
    expect(error.problems).toEqual(['a: expected x', 'b: expected y']);
    expect(error.field).toBe('a');
    expect(new NotFoundError('webservice "x" not found').field).toBeUndefined();
  });
});
