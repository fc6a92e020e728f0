// A small MCP server (official SDK, stdio) for docs/mcp-gateway.md: reports to read, mail to send,
// money to move. The gateway launches it; it never sees an agent's token.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const text = (t) => ({ content: [{ type: 'text', text: t }] });
const server = new McpServer({ name: 'files', version: '1.0.0' });
server.registerTool(
  'read_report',
  { description: 'Read a report file.', inputSchema: { path: z.string() } },
  async ({ path }) => text(`contents of ${path}`),
);
server.registerTool(
  'send_email',
  { description: 'Send an email.', inputSchema: { to: z.string(), body: z.string() } },
  async ({ to }) => text(`sent to ${to}`),
);
server.registerTool(
  'transfer',
  { description: 'Transfer money.', inputSchema: { amount: z.number(), to: z.string() } },
  async ({ amount, to }) => text(`transferred ${amount} to ${to}`),
);
await server.connect(new StdioServerTransport());
