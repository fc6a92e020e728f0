// Reference: Fastify answering a small JSON to a POST with a small JSON body (or to a GET). No logging.
// Usage: node bench/targets/bare-fastify.mjs --port 9101
import Fastify from 'fastify';
import { onStop, parseArgs, ready } from '../lib/args.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9101);
const app = Fastify({ logger: false });
app.post('/v1/echo', async (request) => ({ ok: true, seen: typeof request.body === 'object' }));
// The GET reference for reads (bench/secret-read.mjs): a small JSON, no body to parse.
app.get('/v1/json', async () => ({ name: '/bench/value', version: 1, value: 'reference' }));
await app.listen({ host: '127.0.0.1', port });
ready({ target: 'bare-fastify', url: `http://127.0.0.1:${port}`, path: '/v1/echo' });
onStop(() => app.close());
