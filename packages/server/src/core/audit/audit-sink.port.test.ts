import { describe, expect, it } from 'vitest';
import { ENCODED_PARTS, type StoredAuditEvent } from './audit.model.js';
import { encodeAuditRecord, toAuditRecord } from './audit-sink.port.js';

/** A stored event as the audit repository hands it over: with the JSON it stored. */
function stored(over: Partial<StoredAuditEvent> = {}): StoredAuditEvent {
  const actor = over.actor ?? { identityId: 'id-1', credentialRef: 'hmac-sha256:ab', tokenId: 'jti-"x"' };
  const data = (over.data as Record<string, unknown>) ?? {
    v: 1,
    userAgent: 'ua "quoted" \u2028 é 🔑',
    accessType: 'universal_identity',
    nested: { list: [1, null, 'two'], when: new Date(0) },
  };
  const event: StoredAuditEvent = {
    seq: 42,
    id: 'ev-42',
    atMs: 1_765_000_000_123,
    type: 'auth.succeeded',
    outcome: 'success',
    resource: null,
    reason: 'a "reason"\n',
    requestId: 'req-1',
    sourceIp: '127.0.0.1',
    prevHash: '0'.repeat(64),
    hash: 'f'.repeat(64),
    ...over,
    actor,
    data,
  };
  event[ENCODED_PARTS] = {
    actor: JSON.stringify(actor),
    data: JSON.stringify(data),
    actorObject: actor,
    dataObject: data,
  };
  return event;
}

describe('encodeAuditRecord', () => {
  it('writes the bytes JSON.stringify writes for the record', () => {
    const proto = JSON.parse('{"__proto__":"x","identityId":"id-2"}');
    for (const e of [
      stored(),
      stored({ resource: '/secrets/a"b', reason: null }),
      stored({ actor: {} }),
      stored({ actor: proto }),
      stored({ data: { v: 1 } }),
    ]) {
      const record = toAuditRecord(e);
      expect(encodeAuditRecord(record)).toBe(JSON.stringify(record));
      expect(JSON.parse(encodeAuditRecord(record))).toEqual(JSON.parse(JSON.stringify(record)));
    }
  });

  it('serialises the record itself when it carries no parts, other objects, or undefined fields', () => {
    const plain = toAuditRecord({ ...stored(), [ENCODED_PARTS]: undefined });
    expect(encodeAuditRecord(plain)).toBe(JSON.stringify(plain));
    const record = toAuditRecord(stored());
    const changed = { ...record, data: { v: 1, redacted: true } };
    expect(encodeAuditRecord(changed)).toBe(JSON.stringify(changed));
    expect(encodeAuditRecord(changed)).toContain('"redacted":true');
    const missing = { ...record, requestId: undefined as unknown as null };
    expect(encodeAuditRecord(missing)).toBe(JSON.stringify(missing));
  });

  it('never puts the parts themselves on the wire', () => {
    const record = toAuditRecord(stored());
    expect(Object.keys(record)).not.toContain('actorObject');
    expect(JSON.stringify(record)).not.toContain('actorObject');
  });
});
