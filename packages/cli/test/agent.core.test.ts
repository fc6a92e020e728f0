import { TesseraClient } from '@tessera/sdk';
import { describe, expect, it } from 'vitest';
import { AgentCore, AgentFatalError, type AgentFiles, loadTemplates } from '../src/agent/agent.core.js';
import type { AgentEvent } from '../src/agent/agent.log.js';
import { backoffDelayMs, runAgentLoop } from '../src/agent/agent.loop.js';
import { Crash, CrashableStore, FakeClock, FakeTesseraServer } from './agent-fake-server.js';

const HOUR = 3_600_000;

function memoryFiles() {
  const files = new Map<string, string>();
  const writes: string[] = [];
  const api: AgentFiles = {
    read: async (p) => files.get(p),
    writeAtomic: async (p, c) => {
      files.set(p, c);
      writes.push(p);
    },
  };
  return { files, writes, api };
}

async function setup(
  options: {
    random?: () => number;
    templates?: { destination: string; template: string }[];
    authMethod?: string;
  } = {},
) {
  const clock = new FakeClock();
  const server = new FakeTesseraServer(clock);
  const store = new CrashableStore(server.issue());
  const files = memoryFiles();
  const events: AgentEvent[] = [];
  const make = async () =>
    new AgentCore(
      {
        client: new TesseraClient({ url: 'http://tessera.test', fetch: server.fetch }),
        store,
        files: files.api,
        log: (e) => events.push(e),
        now: clock.now,
        random: options.random ?? (() => 0.5),
        env: { REGION: 'eu-1' },
      },
      {
        uidTokenFile: '/t/token',
        ...(options.authMethod ? { authMethod: options.authMethod } : {}),
        sessionTokenFile: '/t/session',
        rotateAtFraction: 0.5,
        renderIntervalSeconds: 60,
        templates: await loadTemplates(options.templates ?? [], files.api),
      },
    );
  return { clock, server, store, files, events, make };
}

/** Runs the loop on the fake clock until `untilMs`. */
async function runUntil(core: AgentCore, clock: FakeClock, untilMs: number, random = () => 0.5) {
  const sleeps: number[] = [];
  const end = await runAgentLoop({
    core,
    log: () => undefined,
    now: clock.now,
    random,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(Math.max(ms, 1));
    },
    stopped: () => clock.ms >= untilMs,
  });
  return { end, sleeps };
}

describe('agent core: rotation schedule (injected clock)', () => {
  it('rotates at half the TTL with ±10% jitter, saving each new token', async () => {
    const s = await setup();
    const start = s.clock.ms;
    const rotations: number[] = [];
    const core = await s.make();
    const save = s.store.save.bind(s.store);
    s.store.save = async (t) => {
      rotations.push(s.clock.ms - start);
      await save(t);
    };
    const { end } = await runUntil(core, s.clock, start + 3 * HOUR + 1000);
    expect(end.kind).toBe('stopped');
    // TTL 1 h, fraction 0.5, random 0.5 → no jitter: every 30 minutes.
    expect(rotations.map((ms) => Math.round(ms / 60_000))).toEqual([30, 60, 90, 120, 150, 180]);
    expect(s.server.works(s.store.token)).toBe(true);
    expect(s.server.reuseDetected).toBe(0);
  });

  it('keeps the jitter within ±10% of the planned fraction', async () => {
    for (const r of [0, 0.999]) {
      const s = await setup({ random: () => r });
      const core = await s.make();
      await core.cycle();
      const planned = Date.parse(core.state.nextRotationAt as string) - s.clock.ms;
      const expected = r === 0 ? 0.45 * HOUR : 0.55 * HOUR;
      expect(Math.abs(planned - expected)).toBeLessThan(1000);
    }
  });

  it('keeps a session token fresh and in the session file', async () => {
    const s = await setup();
    const core = await s.make();
    await runUntil(core, s.clock, s.clock.ms + 2 * HOUR);
    const session = s.files.files.get('/t/session') as string;
    expect(session).toMatch(/^t-jwt\d+\n$/);
    expect(s.server.sessions.get(session.trim().slice(2))).toBeGreaterThan(s.clock.ms);
  });
});

describe('agent core: kill -9 at every step of a rotation, then restart', () => {
  async function crashDuringRotation(point: 'before-write' | 'after-write' | 'after-ack') {
    const s = await setup();
    const first = await s.make();
    await first.cycle();
    const oldToken = s.store.token;
    s.clock.advance(HOUR / 2);
    if (point === 'after-ack') {
      s.server.afterHandle = (route) => {
        if (route === 'POST /v1/uid/rotate/ack') throw new Crash('killed after the ack');
      };
    } else {
      s.store.crash = point;
    }
    await expect(first.cycle()).rejects.toThrow();
    // The process is gone. The file holds whatever was durably written; restart a new agent on it.
    s.store.crash = undefined;
    s.server.afterHandle = undefined;
    s.clock.advance(5_000);
    const restarted = await s.make();
    await restarted.cycle();
    expect(s.server.works(s.store.token)).toBe(true);
    expect(s.server.reuseDetected).toBe(0);
    // And it keeps rotating afterwards (a replaced pending successor is never used).
    s.clock.advance(HOUR / 2 + 1000);
    await restarted.cycle();
    expect(s.server.works(s.store.token)).toBe(true);
    expect(s.store.token).not.toBe(oldToken);
    expect(s.server.reuseDetected).toBe(0);
    return s;
  }

  it('before the write: the old token is still valid (manual-ack successor) and rotates again later', async () => {
    const s = await crashDuringRotation('before-write');
    expect(s.server.calls.filter((c) => c === 'POST /v1/uid/rotate')).toHaveLength(2);
  });

  it('after the write, before the ack: the new token in the file works on first use', async () => {
    await crashDuringRotation('after-write');
  });

  it('after the ack: the new token is current', async () => {
    await crashDuringRotation('after-ack');
  });

  it('a token left with an automatic-mode pending rotation: retries that rotation once and continues', async () => {
    const s = await setup();
    const old = s.store.token;
    // Someone rotated without manual ack and lost the answer (e.g. a crashed cron job).
    await s.server.fetch('http://tessera.test/v1/uid/rotate', {
      method: 'POST',
      headers: { authorization: `Bearer ${old}` },
      body: '{}',
    });
    s.clock.advance(10_000);
    const core = await s.make();
    await core.cycle();
    expect(s.store.token).not.toBe(old);
    expect(s.server.works(s.store.token)).toBe(true);
    expect(s.events.some((e) => e.event === 'uid.refused')).toBe(true);
  });
});

describe('agent core: failures', () => {
  it('a revoked UID token is fatal: the loop stops, no retry', async () => {
    const s = await setup();
    const core = await s.make();
    await core.cycle();
    s.server.node.revoked = true;
    s.clock.advance(HOUR / 2);
    const { end, sleeps } = await runUntil(core, s.clock, s.clock.ms + HOUR);
    expect(end.kind).toBe('fatal');
    expect(sleeps).toEqual([]);
    expect(core.state.status).toBe('fatal');
    if (end.kind === 'fatal') {
      expect(end.error).toBeInstanceOf(AgentFatalError);
      expect(end.error.message).toContain('/t/token');
      expect(end.error.message).toMatch(/revoked|expired/);
    }
  });

  it('sends the configured auth method: its own works, another is refused as fatal (no retry loop)', async () => {
    const own = await setup({ authMethod: 'p-uid' });
    await (await own.make()).cycle();
    expect(own.server.sessions.size).toBe(1);
    const other = await setup({ authMethod: 'p-someone-else' });
    const core = await other.make();
    const { end, sleeps } = await runUntil(core, other.clock, other.clock.ms + HOUR);
    expect(end.kind).toBe('fatal');
    expect(sleeps).toEqual([]);
  });

  it('backs off exponentially with jitter while the server is down for longer than a session, then recovers', async () => {
    const s = await setup({
      templates: [{ destination: '/r/db', template: '{{ secret "/demo/db" "password" }}' }],
    });
    s.server.sessionTtlSeconds = 600;
    const core = await s.make();
    await core.cycle();
    s.server.down = true;
    const downUntil = s.clock.ms + HOUR / 4; // 15 minutes > the 10-minute session
    const sleeps: number[] = [];
    let wasDegraded = false;
    const end = await runAgentLoop({
      core,
      log: () => undefined,
      now: s.clock.now,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
        if (core.state.status === 'degraded') wasDegraded = true;
        s.clock.advance(ms);
        if (s.clock.ms >= downUntil) s.server.down = false;
      },
      stopped: () => !s.server.down && core.state.status === 'ok' && wasDegraded,
    });
    expect(end.kind).toBe('stopped');
    expect(core.state.consecutiveFailures).toBe(0);
    expect(core.state.lastError?.code).toBe('TESSERA_NETWORK_ERROR');
    const retries = sleeps.slice(1);
    expect(retries.slice(0, 4)).toEqual([375, 750, 1500, 3000]);
    expect(Math.max(...retries)).toBeLessThanOrEqual(60_000);
    // A new session was obtained after the outage (the old one expired meanwhile), and used.
    const latest = [...s.server.sessions.values()].pop() as number;
    expect(latest).toBeGreaterThan(s.clock.ms);
    expect(s.files.files.get('/r/db')).toBe('pw-1');
  });

  it('re-authenticates when the server refuses the session token', async () => {
    const s = await setup({ templates: [{ destination: '/r/db', template: 'x{{ secret "/demo/db" }}' }] });
    const core = await s.make();
    await core.cycle();
    s.server.sessions.clear(); // e.g. signing keys rotated away
    s.server.secrets.set('/demo/db', 'v2');
    s.clock.advance(61_000);
    await core.cycle();
    expect(s.files.files.get('/r/db')).toBe('xv2');
  });

  it('backoff delays double up to the cap', () => {
    expect([1, 2, 3, 10, 20].map((n) => backoffDelayMs(n, () => 1))).toEqual([
      500, 1000, 2000, 60_000, 60_000,
    ]);
    expect(backoffDelayMs(3, () => 0)).toBe(1000);
  });
});

describe('agent core: templates', () => {
  it('renders secrets, JSON fields and env; rewrites only when the content changed', async () => {
    const s = await setup({
      templates: [
        { destination: '/r/all', template: 'cfg={{ secret "/demo/db" }}\n' },
        { destination: '/r/pw', template: '{{ secret "/demo/db" "password" }}@{{ env "REGION" }}' },
      ],
    });
    const core = await s.make();
    await core.cycle();
    expect(s.files.files.get('/r/all')).toBe('cfg={"user":"app","password":"pw-1"}\n');
    expect(s.files.files.get('/r/pw')).toBe('pw-1@eu-1');
    const writes = s.files.writes.length;
    s.clock.advance(61_000);
    await core.cycle();
    expect(s.files.writes.length).toBe(writes);
    s.server.secrets.set('/demo/db', '{"user":"app","password":"pw-2"}');
    s.clock.advance(61_000);
    await core.cycle();
    expect(s.files.files.get('/r/pw')).toBe('pw-2@eu-1');
    expect(s.events.filter((e) => e.event === 'template.rendered').map((e) => e.fields?.destination)).toEqual(
      ['/r/all', '/r/pw', '/r/all', '/r/pw'],
    );
    expect(JSON.stringify(s.events)).not.toContain('pw-');
  });
});

describe('agent core: dynamic secret leases (injected clock)', () => {
  const MIN = 60_000;
  const pgTemplate = {
    destination: '/r/pg.env',
    template: 'PGUSER={{ dynamic "/demo/pg" "username" }}\nPGPASSWORD={{ dynamic "/demo/pg" "password" }}\n',
  };
  const userTemplate = { destination: '/r/user', template: '{{ dynamic "/demo/pg" "username" }}' };

  /** Records the lease routes with the fake clock's time (minutes since `start`). */
  function recordLeaseCalls(s: Awaited<ReturnType<typeof setup>>, start: number) {
    const calls: string[] = [];
    s.server.afterHandle = (route) => {
      if (/leases|dynamic/.test(route)) calls.push(`${route.split('/').pop()}@${(s.clock.ms - start) / MIN}`);
    };
    return calls;
  }

  it('one lease per name, renewed at half its remaining TTL, replaced at its maximum; the old lease is revoked after the grace', async () => {
    const s = await setup({ templates: [pgTemplate, userTemplate] });
    const start = s.clock.ms;
    const calls = recordLeaseCalls(s, start);
    const core = await s.make();
    // The file always names a live lease: check it at every write.
    const write = s.files.api.writeAtomic;
    const fileUsers: { user: string; at: number }[] = [];
    s.files.api.writeAtomic = async (p, c) => {
      await write(p, c);
      if (p !== '/r/user') return;
      const lease = [...s.server.leases.values()].find((l) => l.username === c);
      expect(lease?.state).toBe('active');
      expect(lease!.expiresAtMs).toBeGreaterThan(s.clock.ms);
      fileUsers.push({ user: c, at: (s.clock.ms - start) / MIN });
    };
    const { end } = await runUntil(core, s.clock, start + 40 * MIN);
    expect(end.kind).toBe('stopped');
    // TTL 10 min, maximum 30 min, random 0.5 (no jitter): renew at 5, 10, 15, 20 (capped at 30),
    // replace at 25 (half of the 10 min left), revoke the old lease 60 s after the switch.
    expect(calls).toEqual([
      'credentials@0',
      'renew@5',
      'renew@10',
      'renew@15',
      'renew@20',
      'credentials@25',
      'revoke@26',
      'renew@30',
      'renew@35',
    ]);
    expect(fileUsers).toEqual([
      { user: 'tsr_user_3', at: 0 },
      { user: expect.stringMatching(/^tsr_user_\d+$/), at: 25 },
    ]);
    expect(fileUsers[1]!.user).not.toBe(fileUsers[0]!.user);
    const leases = [...s.server.leases.values()];
    expect(leases.map((l) => l.state)).toEqual(['revoked', 'active']);
    expect(s.files.files.get('/r/pg.env')).toBe(
      `PGUSER=${leases[1]!.username}\nPGPASSWORD=${leases[1]!.password}\n`,
    );
    expect(JSON.stringify(s.events)).not.toContain('pw-secret');
    expect(core.state.leases).toEqual([
      expect.objectContaining({ name: '/demo/pg', username: leases[1]!.username }),
    ]);
  });

  it('spreads renewals by ±10% of half the remaining TTL', async () => {
    for (const [r, expected] of [
      [0, 0.45],
      [0.999, 0.55],
    ] as const) {
      const s = await setup({ random: () => r, templates: [userTemplate] });
      const core = await s.make();
      await core.cycle();
      const lease = [...core.leases.held.values()][0]!;
      const planned = lease.renewAtMs - s.clock.ms;
      expect(Math.abs(planned - expected * 10 * MIN)).toBeLessThan(1000);
    }
  });

  it('a refused renewal gets a new lease, re-renders, and revokes the old one after the grace', async () => {
    const s = await setup({ templates: [userTemplate] });
    const core = await s.make();
    await core.cycle();
    const first = s.files.files.get('/r/user');
    s.server.refuseRenewals = true;
    s.clock.advance(5 * MIN);
    await core.cycle();
    const second = s.files.files.get('/r/user');
    expect(second).not.toBe(first);
    const byUser = (u: string | undefined) => [...s.server.leases.values()].find((l) => l.username === u)!;
    expect(byUser(first).state).toBe('active'); // still usable during the grace
    s.clock.advance(59_000);
    await core.cycle();
    expect(byUser(first).state).toBe('active');
    s.clock.advance(2000);
    await core.cycle();
    expect(byUser(first).state).toBe('revoked');
    expect(byUser(second).state).toBe('active');
    expect(s.events.map((e) => e.event)).toContain('lease.renew_refused');
  });

  it('an unreachable server is retried with backoff: the lease is kept, not replaced', async () => {
    const s = await setup({ templates: [userTemplate] });
    const core = await s.make();
    await core.cycle();
    s.clock.advance(5 * MIN);
    s.server.down = true;
    await expect(core.cycle()).rejects.toThrow();
    s.server.down = false;
    s.clock.advance(10_000);
    await core.cycle();
    expect(s.server.leases.size).toBe(1);
    expect([...s.server.leases.values()][0]!.expiresAtMs).toBe(s.clock.ms + 10 * MIN);
  });

  it('keeps the leases when it stops; revokeLeases (revoke_leases_on_exit) revokes held and retiring ones', async () => {
    const s = await setup({ templates: [userTemplate] });
    const core = await s.make();
    await core.cycle();
    s.server.refuseRenewals = true;
    s.clock.advance(5 * MIN);
    await core.cycle(); // replaced: one held, one retiring (in its grace)
    expect(core.leases.retiring).toHaveLength(1);
    expect([...s.server.leases.values()].map((l) => l.state)).toEqual(['active', 'active']);
    await core.revokeLeases();
    expect([...s.server.leases.values()].map((l) => l.state)).toEqual(['revoked', 'revoked']);
    expect(core.leases.held.size).toBe(0);
  });

  it('a reloaded core adopts the leases instead of taking new ones', async () => {
    const s = await setup({ templates: [userTemplate] });
    const first = await s.make();
    await first.cycle();
    const next = await s.make();
    next.adoptLeases(first);
    await next.cycle();
    expect(s.server.leases.size).toBe(1);
  });
});
