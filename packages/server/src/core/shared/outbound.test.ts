import { describe, expect, it } from 'vitest';
import { outboundRefusal, outboundUrlRefusal, parseOutboundAllow } from './outbound.js';

describe('outbound address policy (SSRF guard)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['64:ff9b::a00:1', 'reserved'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['not-an-address', 'reserved'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(outboundRefusal(address, [])).toBe(reason);
  });

  it.each([
    '93.184.215.14',
    '2606:2800:21f:cb07:6820:80da:af6b:8b2c',
    '172.32.0.1',
    '11.0.0.1',
  ])('allows the public address %s', (address) => {
    expect(outboundRefusal(address, [])).toBeNull();
  });

  it('the operator allow-list overrides a refusal, and only inside its ranges', () => {
    const allow = parseOutboundAllow(' 127.0.0.0/8, 10.0.0.0/8 ,::1');
    expect(allow).toEqual(['127.0.0.0/8', '10.0.0.0/8', '::1']);
    expect(outboundRefusal('127.0.0.1', allow)).toBeNull();
    expect(outboundRefusal('10.9.9.9', allow)).toBeNull();
    expect(outboundRefusal('::1', allow)).toBeNull();
    expect(outboundRefusal('192.168.0.1', allow)).toBe('private');
    expect(outboundRefusal('169.254.169.254', allow)).toBe('metadata');
    expect(parseOutboundAllow(undefined)).toEqual([]);
    expect(() => parseOutboundAllow('10.0.0.0/33')).toThrow(/TESSERA_OUTBOUND_ALLOW/);
  });

  it('judges a URL whose host is written as an address (names are judged when resolved)', () => {
    expect(outboundUrlRefusal('https://10.0.0.5/jwks.json', [])).toBe('private');
    expect(outboundUrlRefusal('http://169.254.169.254/latest/meta-data/', [])).toBe('metadata');
    expect(outboundUrlRefusal('http://[::1]:8080/', [])).toBe('loopback');
    expect(outboundUrlRefusal('http://localhost:8080/', [])).toBe('loopback');
    // WHATWG URL normalises other spellings of an IPv4 address.
    expect(outboundUrlRefusal('http://0x7f000001/', [])).toBe('loopback');
    expect(outboundUrlRefusal('http://2130706433/', [])).toBe('loopback');
    expect(outboundUrlRefusal('https://keys.example.com/jwks.json', [])).toBeNull();
    expect(outboundUrlRefusal('http://127.0.0.1:9000/', ['127.0.0.0/8'])).toBeNull();
  });
});
