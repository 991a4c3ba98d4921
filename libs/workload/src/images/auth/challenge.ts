// WWW-Authenticate parsing (RFC 9110 §11.6.1): one header may carry several challenges, each a
// scheme followed by comma-separated auth-params whose values are tokens or quoted strings
// (`Bearer realm="https://r.io/token",service="r.io",scope="repository:a:pull"`).

/** One challenge of a WWW-Authenticate header. */
export interface AuthChallenge {
  /** Lower-cased scheme: `basic`, `bearer`, ... */
  readonly scheme: string;
  /** Parameters with lower-cased names. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*[ \t]*(?=,|$)/;

/** Parses a WWW-Authenticate header value; unparseable trailing text is ignored. */
export function parseChallenges(header: string): AuthChallenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let rest = header;
  const skip = (pattern: RegExp) => {
    rest = rest.replace(pattern, '');
  };
  for (;;) {
    skip(/^[\s,]+/);
    const scheme = TOKEN.exec(rest)?.[0];
    if (scheme === undefined) break;
    rest = rest.slice(scheme.length);
    const challenge = { scheme: scheme.toLowerCase(), params: {} as Record<string, string> };
    challenges.push(challenge);
    skip(/^[ \t]+/);
    // A token68 (`Negotiate abc==`) stands alone instead of parameters.
    const token68 = TOKEN68.exec(rest)?.[0];
    if (token68 !== undefined) {
      rest = rest.slice(token68.length);
      continue;
    }
    for (;;) {
      const match = /^[\s,]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*/.exec(rest);
      if (!match) break;
      rest = rest.slice(match[0].length);
      const value = readValue();
      if (value === undefined) return challenges;
      const [, name = ''] = match;
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return challenges;

  function readValue(): string | undefined {
    if (rest.startsWith('"')) {
      let value = '';
      for (let i = 1; i < rest.length; i++) {
        const c = rest.charAt(i);
        if (c === '\\' && i + 1 < rest.length) {
          value += rest[++i];
        } else if (c === '"') {
          rest = rest.slice(i + 1);
          return value;
        } else {
          value += c;
        }
      }
      return undefined; // unterminated quoted string
    }
    const token = TOKEN.exec(rest)?.[0];
    if (token === undefined) return undefined;
    rest = rest.slice(token.length);
    return token;
  }
}
