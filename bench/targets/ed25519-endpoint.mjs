// Reference: the practical limit of a signed-token endpoint. Fastify POST that parses a JSON body
// and answers one Ed25519 JWT (node:crypto sign(null, …)) carrying a handful of claims. Nothing
// else: no store, no audit, no credential look-up.
// Usage: node bench/targets/ed25519-endpoint.mjs --port 9102
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import Fastify from 'fastify';
import { onStop, parseArgs, ready } from '../lib/args.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9102);
const { privateKey } = generateKeyPairSync('ed25519');
const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'bench-1' })).toString(
  'base64url',
);

const app = Fastify({ logger: false });
app.post('/token', async (request, reply) => {
  const body = request.body;
  if (!body || typeof body.clientId !== 'string') return reply.code(400).send({ error: 'clientId required' });
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    iss: 'http://127.0.0.1',
    aud: 'bench',
    sub: body.clientId,
    client_id: body.clientId,
    jti: randomBytes(12).toString('base64url'),
    iat,
    exp: iat + 3600,
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
  return { token, tokenType: 'Bearer', expiresIn: 3600 };
});
await app.listen({ host: '127.0.0.1', port });
ready({ target: 'ed25519-endpoint', url: `http://127.0.0.1:${port}`, path: '/token' });
onStop(() => app.close());
