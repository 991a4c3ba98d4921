import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeScopes, repositoryScope } from './authenticator.js';
import { parseChallenges } from './challenge.js';

describe('parseChallenges', () => {
  it('reads a distribution Bearer challenge with a space-separated scope', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull repository:c:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull repository:c:pull,push',
        },
      },
    ]);
  });

  it('reads several challenges, token values, escapes and odd spacing', () => {
    expect(
      parseChallenges(
        'Basic realm="a \\"quoted\\" realm" , Bearer  realm=plain,error=insufficient_scope, Negotiate abc==',
      ),
    ).toEqual([
      { scheme: 'basic', params: { realm: 'a "quoted" realm' } },
      { scheme: 'bearer', params: { realm: 'plain', error: 'insufficient_scope' } },
      { scheme: 'negotiate', params: {} },
    ]);
  });

  it('returns what it could read when a quoted string is not closed', () => {
    expect(parseChallenges('Bearer realm="https://a", service="unterminated')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://a' } },
    ]);
  });

  it('round-trips any parameters written as quoted strings', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/);
    const value = fc.string({ maxLength: 30 }).filter((v) => !/[\r\n]/.test(v));
    const challenge = fc.record({
      scheme: fc.constantFrom('Basic', 'Bearer', 'Custom'),
      params: fc.dictionary(name, value, { maxKeys: 4 }),
    });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (challenges) => {
        const header = challenges
          .map(({ scheme, params }) =>
            [
              scheme,
              Object.entries(params)
                .map(([k, v]) => `${k}="${v.replace(/["\\]/g, '\\$&')}"`)
                .join(', '),
            ]
              .filter((part) => part !== '')
              .join(' '),
          )
          .join(', ');
        const parsed = parseChallenges(header);
        expect(parsed.map((c) => c.scheme)).toEqual(challenges.map((c) => c.scheme.toLowerCase()));
        expect(parsed.map((c) => c.params)).toEqual(challenges.map((c) => ({ ...c.params })));
      }),
    );
  });
});

describe('scopes', () => {
  it('merges actions per repository and sorts, so equal needs share a cached token', () => {
    expect(
      mergeScopes([
        repositoryScope('b', ['push', 'pull']),
        'repository:a:pull',
        'repository:b:pull',
        'repository:a:push',
      ]),
    ).toEqual(['repository:a:pull,push', 'repository:b:pull,push']);
  });
});
