// Reference: node:http answering a small JSON to a POST (body read, not parsed). No framework.
// Usage: node bench/targets/bare-node-http.mjs --port 9100
import { createServer } from 'node:http';
import { onStop, parseArgs, ready } from '../lib/args.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9100);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
});
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
ready({ target: 'bare-node-http', url: `http://127.0.0.1:${port}`, path: '/' });
onStop(() => new Promise((resolve) => server.close(resolve)));
