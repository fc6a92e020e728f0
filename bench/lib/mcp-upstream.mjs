// An upstream MCP server for bench/mcp-gateway.mjs, built with the official SDK: Streamable HTTP
// with sessions, JSON answers, tools `echo`, `read_report` and `send_email`.
// Usage: node bench/lib/mcp-upstream.mjs --port 9201  (prints READY {"url": …})
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { onStop, parseArgs, ready } from './args.mjs';

const args = parseArgs();
const transports = new Map();
const text = (t) => ({ content: [{ type: 'text', text: t }] });
function newServer() {
  const server = new McpServer({ name: 'bench-upstream', version: '1' });
  server.registerTool(
    'echo',
    { description: 'Echoes.', inputSchema: { text: z.string(), n: z.number() } },
    async (a) => text(a.text),
  );
  server.registerTool(
    'read_report',
    { description: 'Reads a report.', inputSchema: { path: z.string() } },
    async (a) => text(a.path),
  );
  server.registerTool(
    'send_email',
    { description: 'Sends mail.', inputSchema: { to: z.string() } },
    async (a) => text(a.to),
  );
  return server;
}
const http = createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  const sid = req.headers['mcp-session-id'];
  let transport = sid ? transports.get(sid) : undefined;
  if (!transport) {
    if (sid) return res.writeHead(404).end();
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => transports.set(id, transport),
    });
    await newServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
});
http.keepAliveTimeout = 60_000;
http.listen(Number(args.port ?? 9201), '127.0.0.1', () =>
  ready({ url: `http://127.0.0.1:${http.address().port}/mcp` }),
);
onStop(async () => http.close());
