/** CIDR parsing and matching for bound-CIDR checks. Pure: no sockets, no DNS. */

function parseIPv4(ip: string): bigint | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function parseIPv6(ip: string): bigint | null {
  let text = ip;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  let tail: bigint | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (tail === null) return null;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  }
  if (tail !== null) value = (value & ~0xffffffffn) | tail;
  return value;
}

interface ParsedIp {
  v: 4 | 6;
  value: bigint;
}

/** Parses an address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is treated as IPv4. */
export function parseIp(ip: string): ParsedIp | null {
  const v4 = parseIPv4(ip);
  if (v4 !== null) return { v: 4, value: v4 };
  const v6 = parseIPv6(ip);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { v: 4, value: v6 & 0xffffffffn };
  return { v: 6, value: v6 };
}

/** True when `cidr` is a valid `address/prefix` (or a bare address). */
export function isValidCidr(cidr: string): boolean {
  const [addr, prefix, extra] = cidr.split('/');
  if (extra !== undefined || !addr) return false;
  const ip = parseIp(addr);
  if (!ip) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (ip.v === 4 ? 32 : 128);
}

/** True when `ip` lies in `cidr`. Invalid input never matches. */
export function cidrContains(cidr: string, ip: string): boolean {
  if (!isValidCidr(cidr)) return false;
  const [addr, prefixText] = cidr.split('/');
  const net = addr ? parseIp(addr) : null;
  const target = parseIp(ip);
  if (!net || !target || net.v !== target.v) return false;
  const bits = net.v === 4 ? 32n : 128n;
  const prefix = prefixText === undefined ? bits : BigInt(Number(prefixText));
  const shift = bits - prefix;
  return net.value >> shift === target.value >> shift;
}

/** True when no CIDRs are bound, or `ip` lies in one of them. */
export function ipAllowed(boundCidrs: readonly string[], ip: string): boolean {
  return boundCidrs.length === 0 || boundCidrs.some((c) => cidrContains(c, ip));
}
