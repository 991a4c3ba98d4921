import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DoctorUsageError } from '../errors.js';
import { cidrContains, isLoopbackAddress, isPublicAddress } from './addresses.js';
import { parseHostOverride } from './overrides.js';
import { parseResolver, resolversFromResolvConf } from './resolvers.js';

describe('parseResolver', () => {
  it.each([
    ['127.0.0.2', { address: '127.0.0.2', port: 53, label: '127.0.0.2:53' }],
    ['127.0.0.2:5353', { address: '127.0.0.2', port: 5353, label: '127.0.0.2:5353' }],
    ['::1', { address: '::1', port: 53, label: '[::1]:53' }],
    ['[::1]:5353', { address: '::1', port: 5353, label: '[::1]:5353' }],
  ])('reads %s', (text, expected) => expect(parseResolver(text)).toEqual(expected));

  it.each(['dns.example', '127.0.0.2:0', '127.0.0.2:99999', '127.0.0.2:53:1', ''])(
    'refuses %s',
    (text) => {
      expect(() => parseResolver(text)).toThrow(DoctorUsageError);
    },
  );
});

describe('resolversFromResolvConf', () => {
  it('lists nameservers in order and ignores everything else', () => {
    const text =
      '# comment\nsearch svc.cluster.local\nnameserver 10.0.0.10\noptions ndots:5\nnameserver fe80::1%eth0\nnameserver not-an-ip\n';
    expect(resolversFromResolvConf(text).map((resolver) => resolver.label)).toEqual([
      '10.0.0.10:53',
      '[fe80::1]:53',
    ]);
  });
});

describe('parseHostOverride', () => {
  it.each([
    ['MCR.microsoft.com=127.0.0.5', ['mcr.microsoft.com', { address: '127.0.0.5' }]],
    [
      'mcr.microsoft.com=127.0.0.5:8443',
      ['mcr.microsoft.com', { address: '127.0.0.5', port: 8443 }],
    ],
    ['mcr.microsoft.com=:8443', ['mcr.microsoft.com', { port: 8443 }]],
    ['mcr.microsoft.com=[::1]:8443', ['mcr.microsoft.com', { address: '::1', port: 8443 }]],
  ])('reads %s', (text, expected) => expect(parseHostOverride(text)).toEqual(expected));

  it.each([
    'mcr.microsoft.com',
    '=127.0.0.1',
    'mcr.microsoft.com=',
    'mcr.microsoft.com=somewhere:1',
    'x=:0',
  ])('refuses %s', (text) => {
    expect(() => parseHostOverride(text)).toThrow(DoctorUsageError);
  });
});

describe('address classes', () => {
  it('tells public from private, CGNAT, loopback and link-local', () => {
    for (const address of [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '127.0.0.5',
      '169.254.169.254',
      '::1',
      'fd00::1',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
    for (const address of ['20.60.1.1', '13.107.42.14', '2603:1030::1'])
      expect(isPublicAddress(address), address).toBe(true);
    expect(isLoopbackAddress('127.9.9.9')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
  });

  it('an IPv4 address is in every CIDR whose prefix bits it shares', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (address, prefix) => {
        const bits = address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
        const size = 2 ** (32 - prefix);
        const network = bits - (bits % size);
        const text = [24, 16, 8, 0]
          .map((shift) => Math.floor(network / 2 ** shift) % 256)
          .join('.');
        expect(cidrContains(`${text}/${prefix}`, address)).toBe(true);
        if (prefix > 0) {
          // Flip the last prefix bit: the address leaves the network.
          const outside = Math.floor(bits / size) % 2 === 1 ? bits - size : bits + size;
          const outsideText = [24, 16, 8, 0]
            .map((shift) => Math.floor(outside / 2 ** shift) % 256)
            .join('.');
          expect(cidrContains(`${text}/${prefix}`, outsideText)).toBe(false);
        }
      }),
    );
  });

  it('rejects malformed CIDRs instead of matching them', () => {
    expect(cidrContains('10.0.0.0/xx', '10.0.0.1')).toBe(false);
    expect(cidrContains('10.0.0.0/16', '::1')).toBe(false);
    expect(cidrContains('10.0.0.0/16', '10.1.0.1')).toBe(false);
  });
});
