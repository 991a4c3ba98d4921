import { describe, expect, it } from 'vitest';
import { bcryptHash } from './bcrypt.js';

// Expected hashes computed with libxcrypt (Python's crypt.crypt on Debian) for these salts.
describe('bcryptHash', () => {
  it.each([
    [
      'skiff-test-password',
      4,
      'abcdefghijklmnopqrstuu',
      '$2b$04$abcdefghijklmnopqrstuuwrKjkpMwwhiSaHtTS8VuLyqcaUiHc/G',
    ],
    [
      '',
      4,
      '......................',
      '$2b$04$......................w74bL5gU7LSJClZClCa.Pkz14aTv/XO',
    ],
    [
      'x'.repeat(80),
      5,
      'CCCCCCCCCCCCCCCCCCCCC.',
      '$2b$05$CCCCCCCCCCCCCCCCCCCCC.D7RDOYXakZhsFmh/LdqQNx0kQ424AFS',
    ],
  ])('hashes %j with cost %i like libxcrypt', (password, cost, salt, expected) => {
    expect(bcryptHash(password, cost, salt)).toBe(expected);
  });

  it('uses a fresh salt each time when none is given', () => {
    expect(bcryptHash('a')).not.toBe(bcryptHash('a'));
  });
});
