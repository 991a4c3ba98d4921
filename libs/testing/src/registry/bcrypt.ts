// bcrypt ($2b$), written from the algorithm's description (Provos & Mazières, "A Future-Adaptable
// Password Scheme", 1999), so that the tests can write the htpasswd file Debian's docker-registry
// reads (it accepts bcrypt entries only) without a bcrypt package. Test-only: not constant time
// and not meant to protect anything.
/* eslint-disable @typescript-eslint/no-non-null-assertion -- every index below is within the
   fixed sizes of Blowfish's arrays (as in the test-support folder this came from, where the rule
   is off). */
import { randomBytes } from 'node:crypto';

// Blowfish's initial P-array and S-boxes are the hexadecimal digits of pi's fractional part:
// 18 + 4 × 256 words of 32 bits. They are computed here (Machin's formula in BigInt) rather than
// pasted as a table.
const WORDS = 18 + 4 * 256;
let initialState: Uint32Array | undefined;

function piFractionWords(): Uint32Array {
  if (initialState) return initialState;
  const bits = BigInt(WORDS * 32);
  const guard = 64n;
  const one = 1n << (bits + guard);
  // arctan(1/x) · 2^(bits+guard), summed until the terms vanish.
  const arctanInverse = (x: bigint): bigint => {
    const xSquared = x * x;
    let power = one / x;
    let sum = power;
    for (let k = 1n; power !== 0n; k += 1n) {
      power /= xSquared;
      const term = power / (2n * k + 1n);
      sum += k % 2n === 1n ? -term : term;
    }
    return sum;
  };
  const pi = 16n * arctanInverse(5n) - 4n * arctanInverse(239n);
  const fraction = (pi - 3n * one) >> guard;
  const words = new Uint32Array(WORDS);
  for (let i = 0; i < WORDS; i++) {
    words[i] = Number((fraction >> (bits - BigInt((i + 1) * 32))) & 0xffffffffn);
  }
  initialState = words;
  return words;
}

class Blowfish {
  readonly p: Uint32Array;
  readonly s: Uint32Array;

  constructor() {
    const words = piFractionWords();
    this.p = words.slice(0, 18);
    this.s = words.slice(18);
  }

  private f(x: number): number {
    const s = this.s;
    const a = s[x >>> 24]!;
    const b = s[256 + ((x >>> 16) & 0xff)]!;
    const c = s[512 + ((x >>> 8) & 0xff)]!;
    const d = s[768 + (x & 0xff)]!;
    return ((((a + b) >>> 0) ^ c) + d) >>> 0;
  }

  /** Encrypts the block (l, r) in place in `block`. */
  encrypt(block: Uint32Array): void {
    let l = block[0]!;
    let r = block[1]!;
    for (let i = 0; i < 16; i++) {
      l = (l ^ this.p[i]!) >>> 0;
      r = (r ^ this.f(l)) >>> 0;
      [l, r] = [r, l];
    }
    [l, r] = [r, l];
    r = (r ^ this.p[16]!) >>> 0;
    l = (l ^ this.p[17]!) >>> 0;
    block[0] = l;
    block[1] = r;
  }

  /** The bcrypt key schedule step; `salt` null is plain Blowfish key expansion. */
  expand(key: Uint8Array, salt: Uint8Array | null): void {
    const keyStream = cyclicWords(key);
    for (let i = 0; i < 18; i++) this.p[i] = (this.p[i]! ^ keyStream()) >>> 0;
    const saltStream = salt ? cyclicWords(salt) : () => 0;
    const block = new Uint32Array(2);
    const fill = (table: Uint32Array) => {
      for (let i = 0; i < table.length; i += 2) {
        block[0] = (block[0]! ^ saltStream()) >>> 0;
        block[1] = (block[1]! ^ saltStream()) >>> 0;
        this.encrypt(block);
        table[i] = block[0];
        table[i + 1] = block[1];
      }
    };
    fill(this.p);
    fill(this.s);
  }
}

function cyclicWords(bytes: Uint8Array): () => number {
  let offset = 0;
  return () => {
    let word = 0;
    for (let i = 0; i < 4; i++) {
      word = ((word << 8) | bytes[offset]!) >>> 0;
      offset = (offset + 1) % bytes.length;
    }
    return word;
  };
}

const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BCRYPT = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// bcrypt's base64 has the standard bit layout, another alphabet and no padding.
function encode(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString('base64')
    .replace(/=+$/, '')
    .replace(/[A-Za-z0-9+/]/g, (c) => BCRYPT[STANDARD.indexOf(c)]!);
}

function decode(text: string, length: number): Uint8Array {
  const standard = text.replace(/[./A-Za-z0-9]/g, (c) => STANDARD[BCRYPT.indexOf(c)]!);
  return Buffer.from(standard, 'base64').subarray(0, length);
}

/**
 * The bcrypt hash of `password`: `$2b$<cost>$<22 salt chars><31 hash chars>`. `salt` is the 22
 * characters after the cost (random when absent); cost 4 is the smallest bcrypt allows and keeps
 * tests quick.
 */
export function bcryptHash(password: string, cost = 4, salt?: string): string {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new Error(`bad bcrypt cost ${cost}`);
  const saltBytes = salt === undefined ? randomBytes(16) : decode(salt, 16);
  if (saltBytes.length !== 16) throw new Error('a bcrypt salt is 22 characters');
  // $2b$: the password's UTF-8 bytes and a terminating NUL, at most 72 bytes.
  const key = Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]).subarray(0, 72);
  const state = new Blowfish();
  state.expand(key, saltBytes);
  for (let round = 0; round < 2 ** cost; round++) {
    state.expand(key, null);
    state.expand(saltBytes, null);
  }
  const text = Buffer.from('OrpheanBeholderScryDoubt', 'latin1');
  const words = new Uint32Array(6);
  for (let i = 0; i < 6; i++) words[i] = text.readUInt32BE(i * 4);
  const block = new Uint32Array(2);
  for (let round = 0; round < 64; round++) {
    for (let i = 0; i < 6; i += 2) {
      block[0] = words[i]!;
      block[1] = words[i + 1]!;
      state.encrypt(block);
      words[i] = block[0];
      words[i + 1] = block[1];
    }
  }
  const digest = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) digest.writeUInt32BE(words[i]!, i * 4);
  const costText = String(cost).padStart(2, '0');
  return `$2b$${costText}$${encode(saltBytes).slice(0, 22)}${encode(digest.subarray(0, 23))}`;
}

/** One line of an htpasswd file with a bcrypt entry for `username`. */
export function htpasswdLine(username: string, password: string): string {
  return `${username}:${bcryptHash(password)}`;
}
