// The floor of `/v1/auth` under DESIGN's invariants: the least any server must do to exchange a
// bearer credential for a session JWT when "no answer before its audit event is durable" and
// "no token stored in plaintext" hold. Per request, and nothing else:
//   - Fastify parses and validates the JSON body (bad input must get a 400) and serialises the
//     answer with a response schema;
//   - SHA-256 of the presented token, one prepared point read by that hash (expiry and revocation
//     are columns of the row: no ancestor walk, no identity state, no method settings);
//   - one Ed25519 JWT signature, as in bench/targets/ed25519-endpoint.mjs;
//   - one audit row, chained by HMAC-SHA256 to the previous one (one-shot SHA-256 pair, as the
//     fastest HMAC in node:crypto), inserted in a group commit: every request of a batch is
//     inserted in one transaction (`synchronous = NORMAL`), then the WAL is fsynced off the event
//     loop and only then are the batch's requests answered (one batch in flight at a time).
// No rate limiting, no request context, no logging, no metrics, no policy, no sinks. A server that
// keeps the invariants cannot beat this; `bench/run.mjs --targets …,auth-floor` compares it with the
// minimal Ed25519 endpoint (DESIGN §5's "practical limit") in the same run.
// Usage: node bench/targets/auth-floor.mjs --port 9106 --tokens 1000 [--data-dir DIR]
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { fsync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import Fastify from 'fastify';
import { onStop, parseArgs, ready } from '../lib/args.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9106);
const tokenCount = Number(args.tokens ?? 1000);
const ownsDir = !args['data-dir'];
const dir = args['data-dir'] ? String(args['data-dir']) : mkdtempSync(join(tmpdir(), 'auth-floor-'));
const file = join(dir, 'floor.db');

const db = new SQLite(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`
  create table tokens (hash text primary key, id text not null, identity_id text not null,
    method_id text not null, expires_at integer not null, revoked_at integer) without rowid;
  create table audit_events (seq integer primary key, at integer not null, type text not null,
    actor text not null, data text not null, prev_hash text not null, hash text not null);
  create table audit_head (id integer primary key, seq integer not null, hash text not null);
  insert into audit_head values (1, 0, '${'0'.repeat(64)}');
`);

const sha256 = (s) => createHash('sha256').update(s).digest('base64url');
const tokens = [];
const insertToken = db.prepare('insert into tokens values (?, ?, ?, ?, ?, null)');
db.transaction(() => {
  for (let i = 0; i < tokenCount; i++) {
    const token = `u-${randomBytes(32).toString('base64url')}`;
    tokens.push(token);
    insertToken.run(sha256(token), `n-${i}`, `i-${i}`, 'm-bench', Date.now() + 86_400_000);
  }
})();
const bodiesFile = join(dir, 'bodies.jsonl');
writeFileSync(
  bodiesFile,
  `${tokens.map((uidToken) => JSON.stringify({ accessType: 'universal_identity', uidToken })).join('\n')}\n`,
);

const findToken = db
  .prepare('select id, identity_id, method_id, expires_at, revoked_at from tokens where hash = ?')
  .raw();
const insertEvent = db.prepare('insert into audit_events values (?, ?, ?, ?, ?, ?, ?)');
const updateHead = db.prepare('update audit_head set seq = ?, hash = ? where id = 1');
const walFd = openSync(`${file}-wal`, 'r+');

// HMAC-SHA256 as two one-shot SHA-256 calls over the padded key (RFC 2104), like the server's chain.
const chainKey = randomBytes(32);
const inner = Buffer.alloc(64 + 4096, 0x36);
const outer = Buffer.alloc(64 + 32, 0x5c);
for (let i = 0; i < 32; i++) {
  inner[i] ^= chainKey[i];
  outer[i] ^= chainKey[i];
}
function hmac(message) {
  const n = inner.write(message, 64, 'utf8');
  createHash('sha256')
    .update(inner.subarray(0, 64 + n))
    .digest()
    .copy(outer, 64);
  return createHash('sha256').update(outer).digest('hex');
}

let seq = 0;
let head = '0'.repeat(64);
/** Requests waiting for the next commit: [row, resolve, reject]. */
let pending = [];
let flushing = false;
function flush() {
  if (flushing || pending.length === 0) return;
  flushing = true;
  const batch = pending;
  pending = [];
  try {
    db.transaction(() => {
      for (const [row] of batch) insertEvent.run(row);
      updateHead.run(seq, head);
    })();
  } catch (error) {
    flushing = false;
    for (const [, , reject] of batch) reject(error);
    return;
  }
  fsync(walFd, (error) => {
    flushing = false;
    for (const [, resolve, reject] of batch) error ? reject(error) : resolve();
    flush();
  });
}
function audited(type, actor, data) {
  const at = Date.now();
  const actorJson = JSON.stringify(actor);
  const dataJson = JSON.stringify(data);
  const prev = head;
  seq += 1;
  head = hmac(`${prev}\n${JSON.stringify([seq, at, type, actorJson, dataJson])}`);
  const row = [seq, at, type, actorJson, dataJson, prev, head];
  return new Promise((resolve, reject) => {
    pending.push([row, resolve, reject]);
    if (pending.length === 1 && !flushing) setImmediate(flush);
  });
}

const { privateKey } = generateKeyPairSync('ed25519');
const jwtHeader = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: 'floor-1' })).toString(
  'base64url',
);
const issuer = `http://127.0.0.1:${port}`;

const app = Fastify({ logger: false });
app.post(
  '/v1/auth',
  {
    schema: {
      body: {
        type: 'object',
        required: ['accessType', 'uidToken'],
        additionalProperties: false,
        properties: {
          accessType: { type: 'string', enum: ['universal_identity'] },
          uidToken: { type: 'string', minLength: 10, maxLength: 200, pattern: '^u-[A-Za-z0-9_-]+$' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            token: { type: 'string' },
            tokenType: { type: 'string' },
            expiresIn: { type: 'integer' },
            expiresAt: { type: 'string' },
            identityId: { type: 'string' },
            uidTokenId: { type: 'string' },
          },
        },
      },
    },
  },
  async (request, reply) => {
    const hash = sha256(request.body.uidToken);
    const row = findToken.get(hash);
    const now = Date.now();
    if (!row || row[4] !== null || row[3] <= now) {
      await audited('auth.failed', { credentialRef: hash.slice(0, 16) }, { reason: 'unknown_or_revoked' });
      return reply.code(401).send({ error: 'auth_failed' });
    }
    const [id, identityId, methodId] = row;
    const iat = Math.floor(now / 1000);
    const exp = iat + 3600;
    const jti = `s-${randomBytes(16).toString('base64url')}`;
    const claims = {
      iss: issuer,
      aud: 'tessera',
      sub: identityId,
      client_id: methodId,
      jti,
      iat,
      exp,
      uid: id,
    };
    const input = `${jwtHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
    await audited(
      'auth.succeeded',
      { identityId, authMethodId: methodId, uidNodeId: id, credentialRef: hash.slice(0, 16), tokenId: jti },
      { accessType: 'universal_identity', expiresAt: new Date(exp * 1000).toISOString() },
    );
    return {
      token,
      tokenType: 'Bearer',
      expiresIn: exp - iat,
      expiresAt: new Date(exp * 1000).toISOString(),
      identityId,
      uidTokenId: id,
    };
  },
);
await app.listen({ host: '127.0.0.1', port });
ready({
  target: 'auth-floor',
  url: `http://127.0.0.1:${port}`,
  path: '/v1/auth',
  bodiesFile,
  storeUrl: `sqlite:${file}`,
  pid: process.pid,
});
onStop(async () => {
  await app.close();
  db.close();
  if (ownsDir) rmSync(dir, { recursive: true, force: true });
});
