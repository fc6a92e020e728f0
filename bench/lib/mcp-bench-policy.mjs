// The MCP gateway's bench policy, shared by bench/targets/tessera-mcp.mjs (the gateway under load)
// and bench/mcp-policy-engines.mjs (ADR 0018's engine comparison), so both measure the same rules:
// argument conditions (a glob and a numeric bound), a rate rule, and two sequence rules.

/** @type {{ rules: object[], tools: Record<string, { labels: string[] }> }} */
export const benchPolicy = {
  rules: [
    {
      id: 'echo',
      tool: 'echo',
      effect: 'allow',
      when: {
        args: [
          { arg: 'text', op: 'glob', value: 'hello*' },
          { arg: 'n', op: '<=', value: 1_000_000_000 },
        ],
        rate: { max: 1_000_000, windowSeconds: 60 },
      },
    },
    {
      id: 'reports',
      tool: 'read_report',
      effect: 'allow',
      when: { args: [{ arg: 'path', op: 'under', value: '/srv/**' }] },
    },
    { id: 'mail', tool: 'send_email', effect: 'allow' },
    {
      id: 'no-exfiltration',
      tool: 'label:external-send',
      effect: 'deny',
      when: { after: ['sensitive-read'] },
    },
    { id: 'no-echo-after-read', tool: 'echo', effect: 'deny', when: { after: ['sensitive-read'] } },
  ],
  tools: { read_report: { labels: ['sensitive-read'] }, send_email: { labels: ['external-send'] } },
};
