import { describe, expect, it } from 'vitest';
import { parseDynamicEnvMappings } from '../run.command.js';
import { parseAgentConfigText, resolveAgentSettings } from './agent.config.js';
import { parseTemplate, renderTemplate } from './agent.template.js';

const defaults = { serverUrl: 'http://127.0.0.1:8377', cwd: '/srv/app', source: 'agent.yaml' };

describe('agent config', () => {
  it('reads the YAML contract, resolves paths against the working directory, and lets flags win', () => {
    const raw = parseAgentConfigText(
      [
        'server_url: http://tessera:8377/',
        'uid_token_file: ./tokens/t',
        'session_token_file: ./tokens/s',
        'health_listen: 127.0.0.1:8378',
        'rotate_at_fraction: 0.4',
        'lease_revoke_grace_seconds: 30',
        'revoke_leases_on_exit: true',
        'templates:',
        '  - destination: ./r/db.json',
        '    template: \'{{ secret "/demo/db" }}\'',
        '  - destination: /abs/out',
        '    template_file: ./t.tmpl',
      ].join('\n'),
      'agent.yaml',
    );
    const s = resolveAgentSettings(raw, { uidTokenFile: '/other/t' }, defaults);
    expect(s).toEqual({
      serverUrl: 'http://tessera:8377',
      uidTokenFile: '/other/t',
      sessionTokenFile: '/srv/app/tokens/s',
      healthListen: { host: '127.0.0.1', port: 8378 },
      rotateAtFraction: 0.4,
      renderIntervalSeconds: 60,
      templates: [
        { destination: '/srv/app/r/db.json', template: '{{ secret "/demo/db" }}' },
        { destination: '/abs/out', templateFile: '/srv/app/t.tmpl' },
      ],
      leaseRevokeGraceSeconds: 30,
      revokeLeasesOnExit: true,
    });
    const plain = resolveAgentSettings({ uid_token_file: 't' }, {}, defaults);
    expect(plain.leaseRevokeGraceSeconds).toBe(60);
    expect(plain.revokeLeasesOnExit).toBe(false);
    const notBool = parseAgentConfigText('uid_token_file: t\nrevoke_leases_on_exit: "yes"\n', 'a.yaml');
    expect(() => resolveAgentSettings(notBool, {}, defaults)).toThrow(
      /revoke_leases_on_exit must be true or false/,
    );
  });

  it('takes the auth method by access id (file or flag) and refuses anything else', () => {
    const raw = parseAgentConfigText('uid_token_file: ./t\nauth_method: p-abc123', 'agent.yaml');
    expect(resolveAgentSettings(raw, {}, defaults).authMethod).toBe('p-abc123');
    expect(resolveAgentSettings(raw, { authMethod: 'p-other' }, defaults).authMethod).toBe('p-other');
    const bad = parseAgentConfigText('uid_token_file: ./t\nauth_method: /demo/uid', 'agent.yaml');
    expect(() => resolveAgentSettings(bad, {}, defaults)).toThrow(/access id/);
  });

  it('refuses unknown keys, bad values and missing essentials with a clear message', () => {
    expect(() => parseAgentConfigText('uid_token_file: x\nrotate_every: 3\n', 'a.yaml')).toThrow(
      /unknown key "rotate_every"/,
    );
    const tmpl = parseAgentConfigText(
      'uid_token_file: t\ntemplates:\n  - destination: x\n    tmpl: y\n',
      'a.yaml',
    );
    expect(() => resolveAgentSettings(tmpl, {}, defaults)).toThrow(/templates\[0\]: unknown key "tmpl"/);
    const fraction = parseAgentConfigText('uid_token_file: t\nrotate_at_fraction: 2\n', 'a.yaml');
    expect(() => resolveAgentSettings(fraction, {}, defaults)).toThrow(/rotate_at_fraction/);
    expect(() => resolveAgentSettings({}, {}, defaults)).toThrow(/UID token file is required/);
    const both = parseAgentConfigText(
      'uid_token_file: t\ntemplates:\n  - destination: x\n    template: a\n    template_file: b\n',
      'a.yaml',
    );
    expect(() => resolveAgentSettings(both, {}, defaults)).toThrow(
      /exactly one of template and template_file/,
    );
    expect(() => parseAgentConfigText('a: [', 'a.yaml')).toThrow(/invalid YAML/);
  });
});

describe('agent templates', () => {
  it('renders secrets, JSON fields and env; rejects anything else', () => {
    const t = parseTemplate(
      'u={{ secret "/db" "user" }} p={{secret "/db" "port"}} r={{ env "R" }} all={{ secret "/x" }}',
      't',
    );
    expect(t.secretNames).toEqual(['/db', '/x']);
    const secrets = new Map([
      ['/db', '{"user":"app","port":5432}'],
      ['/x', 'plain'],
    ]);
    expect(renderTemplate(t, secrets, { R: 'eu' })).toBe('u=app p=5432 r=eu all=plain');
    expect(() => parseTemplate('{{ exec "rm -rf /" }}', 't')).toThrow(/unknown action/);
    expect(() => parseTemplate('a\n{{ secret "/x"', 't')).toThrow(/t:2/);
    expect(() => renderTemplate(parseTemplate('{{ secret "/x" "f" }}', 't'), secrets, {})).toThrow(
      /not JSON/,
    );
  });
});

describe('dynamic secrets in templates and tessera run', () => {
  it('renders lease fields; one lease per name; refuses unknown fields', () => {
    const t = parseTemplate(
      'u={{ dynamic "/pg" "username" }} p={{ dynamic "/pg" "password" }} id={{ dynamic "/pg" "leaseId" }}',
      't',
    );
    expect(t.dynamicNames).toEqual(['/pg']);
    expect(t.secretNames).toEqual([]);
    const lease = {
      username: 'tsr_a',
      password: 'pw',
      leaseId: 'l-1',
      expiresAt: '2030-01-01T00:00:00.000Z',
    };
    expect(renderTemplate(t, new Map(), {}, new Map([['/pg', lease]]))).toBe('u=tsr_a p=pw id=l-1');
    expect(() => renderTemplate(t, new Map(), {})).toThrow(/dynamic secret \/pg has no lease/);
    expect(() => parseTemplate('{{ dynamic "/pg" "adminPassword" }}', 't')).toThrow(/field is one of/);
    expect(() => parseTemplate('{{ dynamic "/pg" }}', 't')).toThrow(/wrong arguments/);
  });

  it('parses --dynamic-env NAME=/path:field', () => {
    expect(parseDynamicEnvMappings(['PGUSER=/demo/pg:username', 'PGPASSWORD=/demo/pg:password'])).toEqual([
      { name: 'PGUSER', secret: '/demo/pg', field: 'username' },
      { name: 'PGPASSWORD', secret: '/demo/pg', field: 'password' },
    ]);
    expect(() => parseDynamicEnvMappings(['PGUSER=/demo/pg'])).toThrow(/NAME=\/path\/to\/dynamic:field/);
    expect(() => parseDynamicEnvMappings(['PGUSER=/demo/pg:admin'])).toThrow(/field must be one of/);
    expect(() => parseDynamicEnvMappings(['A=/x:username', 'A=/x:password'])).toThrow(/given twice/);
  });
});
