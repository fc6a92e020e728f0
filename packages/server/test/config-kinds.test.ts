import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigKind, ConfigSpec } from '../src/core/shared/config-kinds.js';
import { conflict } from '../src/core/shared/errors.js';
import type { Platform } from '../src/platform/platform.js';
import { STORES, startTestServer, type TestServer } from './harness.js';

interface GadgetSpec extends ConfigSpec {
  name: string;
  identity: string;
  size: number;
}

/**
 * A capability brought by an embedding product adds a kind with one registration; plan, apply,
 * export, references and atomicity work for it unchanged (ADR 0021).
 */
function createGadgetsModule(platform: Platform) {
  const gadgets = new Map<string, GadgetSpec>();
  const kind: ConfigKind<GadgetSpec> = {
    key: 'gadgets',
    label: 'gadget',
    description: 'Test gadgets',
    resourceType: 'item',
    after: ['identities'],
    schema: Type.Object(
      { name: Type.String(), identity: Type.String(), size: Type.Optional(Type.Integer({ minimum: 1 })) },
      { additionalProperties: false },
    ),
    normalise: (spec) => ({ spec: { name: spec.name, identity: spec.identity, size: spec.size ?? 1 } }),
    references: (spec) => [{ kind: 'identities', name: spec.identity, path: ['identity'] }],
    live: async () => [...gadgets.values()].map((spec) => ({ spec, system: spec.name === 'factory-made' })),
    async apply(r, change) {
      // Fails after the identities of the same apply were written: they must roll back.
      if (change.name === 'explodes') throw conflict('This gadget cannot be built.');
      const d = change.desired;
      r.afterCommit(() => (d ? gadgets.set(d.name, d) : gadgets.delete(change.name)));
      return undefined;
    },
  };
  platform.configKinds.register(kind);
  // Methods this capability creates for itself (as people do, one per person) are the server's.
  platform.configKinds.ownedByServer('authMethods', (m) => m.name.startsWith('gadget-internal-'));
  gadgets.set('factory-made', { name: 'factory-made', identity: 'tessera-admin', size: 9 });
  return { name: 'gadgets', services: {} };
}

describe.each(STORES)('a config kind from another capability on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store, {}, { tessera: { capabilities: [createGadgetsModule] } });
  });
  afterAll(async () => {
    await s?.close();
  });
  const files = (text: string) => [{ path: 'gadgets.yaml', text }];
  const call = (path: string, body: Record<string, unknown>) =>
    s.call('POST', `/v1/config/${path}`, { token: s.adminToken, body });
  const FILE = `
identities:
  - { name: gadget-owner, kind: device, owner: carol@example.com }
gadgets:
  - { name: widget, identity: gadget-owner, size: 3 }
`;

  it('plans, applies and exports the new kind, after what it refers to', async () => {
    const plan = await call('plan', { files: files(FILE) });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.changes.map((c: any) => `${c.op} ${c.kind} ${c.name}`)).toEqual([
      'create identities gadget-owner',
      'create gadgets widget',
    ]);
    expect((await call('apply', { files: files(FILE) })).status).toBe(200);
    const exported = await s.call('GET', '/v1/config/export', { token: s.adminToken });
    // The server's own gadget is not exported.
    expect(exported.body.document.gadgets).toEqual([{ name: 'widget', identity: 'gadget-owner', size: 3 }]);
    expect((await call('plan', { files: files(FILE) })).body.changes).toEqual([]);
  });

  it("leaves out another kind's objects a capability declared the server's own, and their identities", async () => {
    const made = await s.call('POST', '/v1/auth-methods', {
      token: s.adminToken,
      body: { type: 'access_key', name: 'gadget-internal-1' },
    });
    expect(made.status).toBe(201);
    s.track(made.body.accessKey);
    const exported = await s.call('GET', '/v1/config/export', { token: s.adminToken });
    const names = [...exported.body.document.authMethods, ...exported.body.document.identities].map(
      (o: any) => o.name,
    );
    expect(names).not.toContain('gadget-internal-1');
    // Not in the files, yet not planned for deletion.
    expect((await call('plan', { files: files(FILE) })).body.changes).toEqual([]);
  });

  it('checks its schema and references like any other kind', async () => {
    const bad = await call('plan', {
      files: files(
        `${FILE}  - { name: sprocket, identity: nobody, colour: red }\n  - { name: factory-made, identity: gadget-owner }\n`,
      ),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.problems.map((p: any) => p.message)).toEqual([
      'gadgets[1].colour: unknown key "colour"',
    ]);
    const dangling = await call('plan', {
      files: files(
        `${FILE}  - { name: sprocket, identity: nobody }\n  - { name: factory-made, identity: gadget-owner }\n`,
      ),
    });
    expect(dangling.body.error.details.problems.map((p: any) => [p.line, p.message])).toEqual([
      [6, 'gadget "sprocket" refers to identity "nobody", which is not declared'],
      [7, 'gadget "factory-made" is created by the server itself; it cannot be declared'],
    ]);
  });

  it('is atomic: a change that fails rolls back every change before it', async () => {
    const text = `
identities:
  - { name: gadget-owner, kind: device, owner: dave@example.com }
  - { name: gadget-owner-2, kind: device, owner: dave@example.com }
gadgets:
  - { name: widget, identity: gadget-owner, size: 3 }
  - { name: explodes, identity: gadget-owner-2 }
`;
    const plan = await call('plan', { files: files(text) });
    expect(plan.body.summary).toEqual({ create: 2, update: 1, delete: 0 });
    const applied = await call('apply', { files: files(text) });
    expect(applied.status).toBe(409);
    const after = await s.call('GET', '/v1/config/export', { token: s.adminToken });
    const owners = after.body.document.identities.filter((i: any) => i.name.startsWith('gadget-owner'));
    expect(owners).toEqual([expect.objectContaining({ name: 'gadget-owner', owner: 'carol@example.com' })]);
  });
});
