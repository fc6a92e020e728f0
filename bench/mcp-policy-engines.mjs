// ADR 0018: one MCP tool-call decision (argument conditions, a rate count, two sequence rules)
// by the gateway's pure decision function (capabilities/mcp/mcp.policy.ts) and by Cedar
// (@cedar-policy/cedar-wasm, the candidate named in the reference): pre-parsed policy set
// (statefulIsAuthorized) and policy text parsed per call (isAuthorized). Same answers checked first.
// Usage: npm run build && taskset -c 0 node bench/mcp-policy-engines.mjs [--n 20000]
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { decideToolCall } from '../packages/server/dist/capabilities/mcp/mcp.policy.js';
import { parseArgs } from './lib/args.mjs';
import { benchPolicy } from './lib/mcp-bench-policy.mjs';

const N = Number(parseArgs().n ?? 20_000);
const policy = benchPolicy;
const text = `
@id("echo") permit(principal, action == Action::"call", resource == Tool::"echo")
  when { context.args.text like "hello*" && context.args.n <= 1000000000 && context.recentCalls < 1000000 };
@id("reports") permit(principal, action == Action::"call", resource == Tool::"read_report")
  when { context.args.path like "/srv/*" };
@id("mail") permit(principal, action == Action::"call", resource == Tool::"send_email");
@id("no-exfiltration") forbid(principal, action == Action::"call", resource)
  when { resource.labels.contains("external-send") && context.history.contains("sensitive-read") };
@id("no-echo-after-read") forbid(principal, action == Action::"call", resource == Tool::"echo")
  when { context.history.contains("sensitive-read") };`;
const entities = ['echo', 'read_report', 'send_email'].map((t) => ({
  uid: { type: 'Tool', id: t },
  attrs: { labels: policy.tools[t]?.labels ?? [] },
  parents: [],
}));
const parsed = cedar.preparsePolicySet('mcp', { staticPolicies: text });
if (parsed.type !== 'success') throw new Error(JSON.stringify(parsed));

const cases = [
  ['echo', { text: 'hello 1', n: 1 }, []],
  ['echo', { text: 'bye', n: 1 }, []],
  ['send_email', { to: 'a@example.com' }, ['sensitive-read']],
  ['send_email', { to: 'a@example.com' }, []],
  ['read_report', { path: '/srv/x.txt' }, []],
  ['echo', { text: 'hello', n: 2 }, ['sensitive-read']],
];
const recent = Array.from({ length: 50 }, (_, i) => Date.now() - i * 100);
const ours = ([tool, args, history]) =>
  decideToolCall(policy, tool, args, {
    nowMs: Date.now(),
    callerName: '/agents/a',
    hops: 0,
    history: new Set(history),
    recentCalls: recent,
  }).allowed;
const call = ([tool, args, history]) => ({
  principal: { type: 'Agent', id: 'a' },
  action: { type: 'Action', id: 'call' },
  resource: { type: 'Tool', id: tool },
  context: { args, history, recentCalls: recent.length },
  entities,
});
const stateful = (c) => {
  const r = cedar.statefulIsAuthorized({ ...call(c), preparsedPolicySetId: 'mcp' });
  if (r.type !== 'success') throw new Error(JSON.stringify(r));
  return r.response.decision === 'allow';
};
const reparsed = (c) => {
  const r = cedar.isAuthorized({ ...call(c), policies: { staticPolicies: text } });
  if (r.type !== 'success') throw new Error(JSON.stringify(r));
  return r.response.decision === 'allow';
};
for (const c of cases) {
  const answers = [ours(c), stateful(c), reparsed(c)];
  if (new Set(answers).size !== 1) throw new Error(`engines disagree on ${JSON.stringify(c)}: ${answers}`);
}
console.log(`expected decisions: ${cases.map(ours).join(' ')} (all engines agree)`);
function time(label, n, fn) {
  for (let i = 0; i < Math.min(n, 2000); i++) fn(cases[i % cases.length]);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(cases[i % cases.length]);
  const us = Number(process.hrtime.bigint() - t0) / n / 1000;
  console.log(`  ${label.padEnd(52)} ${us.toFixed(2).padStart(9)} µs/decision`);
  return us;
}
const a = time('pure decision function (mcp.policy.ts)', N, ours);
const b = time('Cedar statefulIsAuthorized (pre-parsed policies)', Math.ceil(N / 10), stateful);
const c = time('Cedar isAuthorized (policy text parsed per call)', Math.ceil(N / 50), reparsed);
console.log(
  `  ratios: Cedar pre-parsed / pure ${(b / a).toFixed(0)}×, Cedar re-parsed / pure ${(c / a).toFixed(0)}×`,
);
