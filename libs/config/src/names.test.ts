import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNamespaceName, isServiceName, serviceNameProblem } from './names.js';

describe('service names', () => {
  it.each(['abc', 'my-service', 'fraud-v2', 'a'.repeat(32)])('accepts %s', (name) => {
    expect(serviceNameProblem(name)).toBeUndefined();
    expect(isServiceName(name)).toBe(true);
  });

  it.each([
    ['ab', 'expected 3 to 32 characters, got "ab" (2)'],
    ['a'.repeat(33), `expected 3 to 32 characters, got "${'a'.repeat(33)}" (33)`],
    [
      'My-Service',
      `expected lower-case letters, digits and '-', starting with a letter and not ending with '-', got "My-Service"`,
    ],
    [
      '1service',
      `expected lower-case letters, digits and '-', starting with a letter and not ending with '-', got "1service"`,
    ],
    [
      'service-',
      `expected lower-case letters, digits and '-', starting with a letter and not ending with '-', got "service-"`,
    ],
    [
      'my_service',
      `expected lower-case letters, digits and '-', starting with a letter and not ending with '-', got "my_service"`,
    ],
    [
      'my.service',
      `expected lower-case letters, digits and '-', starting with a letter and not ending with '-', got "my.service"`,
    ],
  ])('rejects %s', (name, problem) => {
    expect(serviceNameProblem(name)).toBe(problem);
    expect(isServiceName(name)).toBe(false);
  });

  it('every accepted name is a namespace-safe DNS label', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (name) => {
        if (isServiceName(name)) expect(isNamespaceName(name)).toBe(true);
      }),
    );
  });
});

describe('namespace names', () => {
  it.each(['default', 'a', 'team-1', '0team', 'a'.repeat(63)])('accepts %s', (name) => {
    expect(isNamespaceName(name)).toBe(true);
  });
  it.each(['', 'Team', '-a', 'a-', 'a_b', 'a.b', 'a'.repeat(64)])('rejects %j', (name) => {
    expect(isNamespaceName(name)).toBe(false);
  });
});
