/**
 * Which addresses Tessera may connect to when it fetches a URL someone else chose (a client's
 * `jwks_uri`, a CIBA ping endpoint): pure, no DNS. The adapter (platform/outbound-fetch.ts)
 * resolves a host once, asks this about every address, and connects only to those it checked.
 */
import { cidrContains, isValidCidr, parseIp } from './cidr.js';

/** Why an address is refused: a stable reason for audit and errors. */
export type OutboundRefusal = 'unspecified' | 'loopback' | 'private' | 'link_local' | 'metadata' | 'reserved';

/** Cloud instance metadata services (AWS, GCP, Azure, OpenStack; AWS IPv6) — named apart in audit. */
const METADATA = ['169.254.169.254/32', '169.254.170.2/32', 'fd00:ec2::254/128'];

const RANGES: ReadonlyArray<readonly [string, OutboundRefusal]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['::/128', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['::1/128', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['100.64.0.0/10', 'private'], // carrier-grade NAT
  ['fc00::/7', 'private'], // unique local
  ['169.254.0.0/16', 'link_local'],
  ['fe80::/10', 'link_local'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['224.0.0.0/4', 'reserved'], // multicast
  ['240.0.0.0/4', 'reserved'], // reserved and broadcast
  ['ff00::/8', 'reserved'], // multicast
  ['64:ff9b::/96', 'reserved'], // NAT64: an IPv4 address in disguise
  ['2002::/16', 'reserved'], // 6to4: likewise
];

/**
 * Why `address` may not be connected to, or null. `allow` (the operator's CIDRs,
 * `TESSERA_OUTBOUND_ALLOW`) overrides every refusal. IPv4-mapped IPv6 is judged as IPv4; a
 * string that is not an address is refused.
 */
export function outboundRefusal(address: string, allow: readonly string[]): OutboundRefusal | null {
  if (!parseIp(address)) return 'reserved';
  if (allow.some((cidr) => cidrContains(cidr, address))) return null;
  if (METADATA.some((cidr) => cidrContains(cidr, address))) return 'metadata';
  for (const [cidr, reason] of RANGES) if (cidrContains(cidr, address)) return reason;
  return null;
}

/** The operator's allow-list: comma-separated CIDRs (or bare addresses); throws on a bad one. */
export function parseOutboundAllow(raw: string | undefined): string[] {
  const list = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.find((c) => !isValidCidr(c));
  if (bad !== undefined) throw new Error(`TESSERA_OUTBOUND_ALLOW: "${bad.slice(0, 60)}" is not a CIDR`);
  return list;
}

/**
 * Registration-time check of a URL Tessera will fetch: a host written as an address (or
 * `localhost`) must pass `outboundRefusal`. Names are judged when they are resolved, at fetch time.
 */
export function outboundUrlRefusal(url: string, allow: readonly string[]): OutboundRefusal | null {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return 'reserved';
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return outboundRefusal('127.0.0.1', allow);
  const literal = host.startsWith('[') ? host.slice(1, -1) : host;
  return parseIp(literal) ? outboundRefusal(literal, allow) : null;
}
