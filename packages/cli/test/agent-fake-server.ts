import type { FetchLike, UidTokenStore } from '@tessera/sdk';

/**
 * An in-memory model of the server's UID rules (ADR 0002) behind a fake `fetch`, sharing a fake
 * clock with the agent: enough to drive the agent core through rotations, crashes and outages.
 */

type CredState = 'current' | 'pending' | 'superseded' | 'replaced';
interface Cred {
  state: CredState;
  manualAck: boolean;
  graceUntilMs: number;
  createdAtMs: number;
}

export class FakeClock {
  constructor(public ms = Date.parse('2030-01-01T00:00:00Z')) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export class FakeTesseraServer {
  readonly creds = new Map<string, Cred>();
  readonly sessions = new Map<string, number>();
  readonly secrets = new Map<string, string>([['/demo/db', '{"user":"app","password":"pw-1"}']]);
  node = { id: 'node1', ttlSeconds: 3600, expiresAtMs: 0, revoked: false };
  sessionTtlSeconds = 900;
  graceSeconds = 120;
  down = false;
  reuseDetected = 0;
  calls: string[] = [];
  /** Dynamic secret leases (issue 6): TTL and maximum of new leases, and their state. */
  leaseTtlSeconds = 600;
  leaseMaxTtlSeconds = 1800;
  /** Set to refuse every renewal (400), as the server does for a lease it cannot renew. */
  refuseRenewals = false;
  readonly leases = new Map<
    string,
    {
      name: string;
      username: string;
      password: string;
      expiresAtMs: number;
      maxExpiresAtMs: number;
      state: 'active' | 'revoked';
    }
  >();
  /** Called after a route changed state and before it answers: throw to lose the answer. */
  afterHandle: ((route: string) => void) | undefined;
  #n = 0;

  constructor(readonly clock: FakeClock) {}

  /** Issues a root token (admin). */
  issue(): string {
    const token = this.#newToken();
    this.creds.set(token, {
      state: 'current',
      manualAck: false,
      graceUntilMs: 0,
      createdAtMs: this.clock.ms,
    });
    this.node.expiresAtMs = this.clock.ms + this.node.ttlSeconds * 1000;
    return token;
  }

  /** True when `token` can authenticate right now (without changing state for a pending one). */
  works(token: string): boolean {
    const c = this.creds.get(token);
    if (!c || this.node.revoked || this.clock.ms >= this.node.expiresAtMs) return false;
    if (c.state === 'pending') return true;
    if (c.state !== 'current') return false;
    const pending = this.#pending()?.[1];
    return !pending || pending.manualAck;
  }

  #newToken(): string {
    return `u-tok${++this.#n}`;
  }

  #pending(): [string, Cred] | undefined {
    return [...this.creds].find(([, c]) => c.state === 'pending') as [string, Cred] | undefined;
  }

  #present(token: string, purpose: 'auth' | 'rotate' | 'ack' | 'tree'): Cred {
    const c = this.creds.get(token);
    if (!c || this.node.revoked) throw fail();
    if (c.state === 'superseded' || c.state === 'replaced') {
      this.reuseDetected++;
      this.node.revoked = true;
      throw fail();
    }
    const now = this.clock.ms;
    if (this.node.expiresAtMs <= now) throw fail();
    if (c.state === 'pending') {
      for (const other of this.creds.values()) if (other.state === 'current') other.state = 'superseded';
      c.state = 'current';
      return c;
    }
    const pending = this.#pending()?.[1];
    if (pending && !pending.manualAck) {
      if (now > pending.graceUntilMs) throw fail();
      if (purpose !== 'rotate') throw fail();
    }
    return c;
  }

  #handle(
    method: string,
    path: string,
    auth: string | undefined,
    body: Record<string, unknown>,
  ): [number, unknown] {
    const now = this.clock.ms;
    const route = `${method} ${path}`;
    this.calls.push(route);
    if (route === 'POST /v1/auth') {
      // A token is exchanged only for its own method (the real server's rule).
      if (body.accessId !== undefined && body.accessId !== 'p-uid')
        return [401, { error: { code: 'TESSERA_AUTH_FAILED', message: 'Authentication failed.' } }];
      this.#present(body.uidToken as string, 'auth');
      const token = `jwt${++this.#n}`;
      this.sessions.set(token, now + this.sessionTtlSeconds * 1000);
      return [
        200,
        {
          token,
          tokenType: 'Bearer',
          expiresIn: this.sessionTtlSeconds,
          expiresAt: new Date(now + this.sessionTtlSeconds * 1000).toISOString(),
          identityId: 'i-1',
          authMethodId: 'p-uid',
        },
      ];
    }
    if (route === 'POST /v1/uid/rotate') {
      this.#present(auth as string, 'rotate');
      const pending = this.#pending();
      if (pending && now - pending[1].createdAtMs < 1000)
        return [409, { error: { code: 'TESSERA_ROTATION_CONFLICT', message: 'conflict', requestId: 'r' } }];
      if (pending) pending[1].state = 'replaced';
      const token = this.#newToken();
      this.creds.set(token, {
        state: 'pending',
        manualAck: body.manualAck === true,
        graceUntilMs: now + this.graceSeconds * 1000,
        createdAtMs: now,
      });
      this.node.expiresAtMs = now + this.node.ttlSeconds * 1000;
      return [
        200,
        {
          token,
          tokenId: this.node.id,
          authMethodId: 'p-uid',
          expiresAt: new Date(this.node.expiresAtMs).toISOString(),
          ttlSeconds: this.node.ttlSeconds,
          pendingAck: body.manualAck === true,
        },
      ];
    }
    if (route === 'POST /v1/uid/rotate/ack') {
      this.#present(auth as string, 'ack');
      const pending = this.#pending();
      if (!pending || pending[0] !== body.newToken) throw fail();
      this.#present(body.newToken as string, 'auth');
      return [200, { tokenId: this.node.id, acknowledged: true }];
    }
    if (route === 'GET /v1/uid/tree') {
      this.#present(auth as string, 'tree');
      return [
        200,
        {
          authMethodId: 'p-uid',
          maxDepth: 1,
          numberOfTokens: 1,
          truncated: false,
          roots: [
            {
              id: this.node.id,
              parentId: null,
              depth: 1,
              ttlSeconds: this.node.ttlSeconds,
              expiresAt: new Date(this.node.expiresAtMs).toISOString(),
              createdAt: new Date(0).toISOString(),
              lastRotatedAt: null,
              denyRotate: false,
              denyInheritance: false,
              revoked: false,
              revokedAt: null,
              comment: null,
              children: [],
            },
          ],
        },
      ];
    }
    const sessionOk = () => {
      const exp = this.sessions.get(auth ?? '');
      return exp !== undefined && exp > now && !this.node.revoked;
    };
    const expired: [number, unknown] = [
      401,
      { error: { code: 'TESSERA_TOKEN_EXPIRED', message: 'expired', requestId: 'r' } },
    ];
    const leaseWire = (id: string) => {
      const l = this.leases.get(id)!;
      return {
        leaseId: id,
        name: l.name,
        identityId: 'i-1',
        username: l.username,
        state: l.state,
        createdAt: new Date(0).toISOString(),
        expiresAt: new Date(l.expiresAtMs).toISOString(),
        maxExpiresAt: new Date(l.maxExpiresAtMs).toISOString(),
        attempts: 0,
        lastError: null,
        revokedAt: null,
      };
    };
    if (route === 'POST /v1/dynamic-secrets/credentials') {
      if (!sessionOk()) return expired;
      const n = ++this.#n;
      const id = `l-${n}`;
      this.leases.set(id, {
        name: body.name as string,
        username: `tsr_user_${n}`,
        password: `pw-secret-${n}`,
        expiresAtMs: now + this.leaseTtlSeconds * 1000,
        maxExpiresAtMs: now + this.leaseMaxTtlSeconds * 1000,
        state: 'active',
      });
      const l = this.leases.get(id)!;
      return [
        201,
        {
          leaseId: id,
          name: l.name,
          username: l.username,
          password: l.password,
          ttlSeconds: this.leaseTtlSeconds,
          expiresAt: new Date(l.expiresAtMs).toISOString(),
          maxExpiresAt: new Date(l.maxExpiresAtMs).toISOString(),
        },
      ];
    }
    if (route === 'POST /v1/leases/renew') {
      if (!sessionOk()) return expired;
      const l = this.leases.get(body.leaseId as string);
      if (!l) return [404, { error: { code: 'TESSERA_NOT_FOUND', message: 'no lease', requestId: 'r' } }];
      if (this.refuseRenewals || l.state !== 'active' || l.expiresAtMs <= now)
        return [400, { error: { code: 'TESSERA_VALIDATION', message: 'cannot renew', requestId: 'r' } }];
      l.expiresAtMs = Math.min(now + this.leaseTtlSeconds * 1000, l.maxExpiresAtMs);
      return [200, leaseWire(body.leaseId as string)];
    }
    if (route === 'POST /v1/leases/revoke') {
      if (!sessionOk()) return expired;
      const l = this.leases.get(body.leaseId as string);
      if (!l) return [404, { error: { code: 'TESSERA_NOT_FOUND', message: 'no lease', requestId: 'r' } }];
      l.state = 'revoked';
      return [200, { lease: leaseWire(body.leaseId as string), sessionsTerminated: 0 }];
    }
    if (route === 'POST /v1/secrets/values') {
      if (!sessionOk()) return expired;
      const names = body.names as string[];
      return [
        200,
        {
          items: names.map((name) => ({
            name,
            version: 1,
            format: 'text',
            value: this.secrets.get(name),
            createdAt: new Date(0).toISOString(),
          })),
        },
      ];
    }
    return [404, { error: { code: 'TESSERA_ROUTE_NOT_FOUND', message: 'no', requestId: 'r' } }];
  }

  fetch: FetchLike = async (input, init) => {
    if (this.down) throw new TypeError('fetch failed: connect ECONNREFUSED');
    const url = new URL(input);
    const headers = init.headers as Record<string, string>;
    const auth = headers.authorization?.replace(/^Bearer /, '');
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : {};
    let status: number;
    let answer: unknown;
    try {
      [status, answer] = this.#handle(init.method ?? 'GET', url.pathname, auth, body);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      [status, answer] = [
        401,
        { error: { code: 'TESSERA_AUTH_FAILED', message: 'Authentication failed.', requestId: 'r' } },
      ];
    }
    this.afterHandle?.(`${init.method ?? 'GET'} ${url.pathname}`);
    return new Response(JSON.stringify(answer), { status });
  };
}

class Refused extends Error {}
const fail = () => new Refused('refused');

/** Thrown by test hooks to stand for `kill -9`: the process is gone at that point. */
export class Crash extends Error {}

/** A durable token "file" whose save can crash before or after the write. */
export class CrashableStore implements UidTokenStore {
  crash: 'before-write' | 'after-write' | undefined;
  saves = 0;
  constructor(public token: string) {}
  async load(): Promise<string> {
    return this.token;
  }
  async save(token: string): Promise<void> {
    if (this.crash === 'before-write') throw new Crash('killed before the write');
    this.token = token;
    this.saves++;
    if (this.crash === 'after-write') throw new Crash('killed after the write');
  }
}
