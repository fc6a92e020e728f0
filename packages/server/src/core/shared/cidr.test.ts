import { describe, expect, it } from 'vitest';
import { cidrContains, ipAllowed, isValidCidr, parseIp } from './cidr.js';

describe('parseIp', () => {
  it.each([
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['10.1.2.3', 4, 0x0a010203n],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['2001:DB8:0:0:0:0:0:1', 6, 0x20010db8000000000000000000000001n],
    ['fe80::1%eth0', 6, 0xfe800000000000000000000000000001n],
    // IPv4-mapped IPv6 is IPv4, in dotted and in hex form.
    ['::ffff:10.1.2.3', 4, 0x0a010203n],
    ['::ffff:0a01:0203', 4, 0x0a010203n],
    ['0:0:0:0:0:ffff:10.1.2.3', 4, 0x0a010203n],
    // An embedded IPv4 tail that is not the mapped prefix stays IPv6.
    ['64:ff9b::10.1.2.3', 6, 0x0064ff9b00000000000000000a010203n],
  ])('%s → IPv%d', (text, v, value) => {
    expect(parseIp(text)).toEqual({ v, value });
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.-4',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1..2.3',
    '1.2.3.4/8',
    'a.b.c.d',
    '0x7f.0.0.1',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '12345::1',
    'g::1',
    '::ffff:1.2.3.256',
    '::ffff:1.2.3',
    '1.2.3.4::',
    'localhost',
    '%eth0',
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });
});

describe('isValidCidr', () => {
  it.each([
    '10.0.0.0/8',
    '0.0.0.0/0',
    '1.2.3.4/32',
    '1.2.3.4',
    '::/0',
    '2001:db8::/32',
    '::1/128',
    '::1',
  ])('accepts %s', (cidr) => expect(isValidCidr(cidr)).toBe(true));

  it.each([
    '',
    '/8',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/+8',
    '10.0.0.0/8.5',
    '10.0.0.0/abc',
    '10.0.0.0/8/8',
    '10.0.0.0/ 8',
    '2001:db8::/129',
    '2001:db8::/1000',
    'host/8',
    '300.0.0.0/8',
  ])('rejects %j', (cidr) => expect(isValidCidr(cidr)).toBe(false));
});

describe('cidrContains', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['192.168.1.0/24', '192.168.1.77', true],
    ['192.168.1.0/24', '192.168.2.1', false],
    ['192.168.1.128/25', '192.168.1.127', false],
    ['192.168.1.128/25', '192.168.1.128', true],
    ['1.2.3.4/32', '1.2.3.4', true],
    ['1.2.3.4/32', '1.2.3.5', false],
    ['1.2.3.4', '1.2.3.4', true], // a bare address is a /32
    ['1.2.3.4', '1.2.3.5', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    // A network written with host bits set still names its network.
    ['10.1.2.3/8', '10.200.0.1', true],
    // IPv6.
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::/0', '2001:db8::1', true],
    ['::1/128', '::1', true],
    ['::1/128', '::2', false],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['fe80::/10', 'fec0::1', false],
    // IPv4-mapped addresses are IPv4 on both sides.
    ['10.0.0.0/8', '::ffff:10.9.8.7', true],
    ['10.0.0.0/8', '::ffff:11.9.8.7', false],
    ['::ffff:10.0.0.0', '10.0.0.0', true],
    // Families never match each other.
    ['0.0.0.0/0', '::1', false],
    ['::/0', '127.0.0.1', false],
    ['::/0', '::ffff:127.0.0.1', false],
  ])('%s contains %s → %s', (cidr, ip, expected) => {
    expect(cidrContains(cidr, ip)).toBe(expected);
  });

  // The documented contract: "Invalid input never matches" — it must also never throw.
  const INVALID_CIDRS = [
    '',
    '/8',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '10.0.0.0/33',
    '10.0.0.0/abc',
    '10.0.0.0/8.5',
    '10.0.0.0/8/8',
    'garbage',
    '::/129',
    '::/-5',
  ];
  const ADDRESSES = ['10.0.0.0', '10.0.0.1', '1.2.3.4', '255.255.255.255', '0.0.0.0', '::1', '::'];
  it.each(INVALID_CIDRS)('an invalid CIDR %j never matches and never throws', (cidr) => {
    for (const ip of ADDRESSES) expect(() => cidrContains(cidr, ip), `${cidr} vs ${ip}`).not.toThrow();
    for (const ip of ADDRESSES) expect(cidrContains(cidr, ip), `${cidr} vs ${ip}`).toBe(false);
  });

  it.each([
    '',
    'garbage',
    '10.0.0',
    '10.0.0.256',
    '1:2:3',
    ' 10.0.0.1',
    '10.0.0.1/8',
    'unknown',
  ])('an invalid address %j never matches', (ip) => {
    for (const cidr of ['0.0.0.0/0', '::/0', '10.0.0.0/8']) expect(cidrContains(cidr, ip)).toBe(false);
  });
});

describe('ipAllowed', () => {
  it('allows everything when no CIDRs are bound', () => {
    expect(ipAllowed([], '203.0.113.9')).toBe(true);
    expect(ipAllowed([], 'not an ip')).toBe(true);
  });

  it('allows an address in any bound CIDR and nothing else', () => {
    const bound = ['10.0.0.0/8', '2001:db8::/32'];
    expect(ipAllowed(bound, '10.1.1.1')).toBe(true);
    expect(ipAllowed(bound, '::ffff:10.1.1.1')).toBe(true);
    expect(ipAllowed(bound, '2001:db8::5')).toBe(true);
    expect(ipAllowed(bound, '127.0.0.1')).toBe(false);
    expect(ipAllowed(bound, '::1')).toBe(false);
    expect(ipAllowed(bound, '')).toBe(false);
  });

  it('fails closed when the only bound CIDR is invalid', () => {
    expect(ipAllowed(['10.0.0.0/-1'], '127.0.0.1')).toBe(false);
    expect(ipAllowed(['10.0.0.0/'], '127.0.0.1')).toBe(false);
  });
});
