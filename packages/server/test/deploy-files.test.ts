import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { haproxyBin, haproxyConfig } from './cluster.helpers.js';

/**
 * docs/deploy (issue 19) is checked here since no container runtime or cluster is available: the
 * HAProxy config by `haproxy -c` (and run by cluster.haproxy.test.ts), the systemd unit by
 * `systemd-analyze verify`, the Kubernetes manifests and the Containerfile by their structure.
 */
const deploy = resolve(__dirname, '../../../docs/deploy');
const bin = resolve(__dirname, '../../cli/bin/tessera.js');
const dir = mkdtempSync(join(tmpdir(), 'tessera-deploy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/deploy', () => {
  it('haproxy.cfg passes haproxy -c and health-checks /readyz', () => {
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(join(dir, 'tessera-503.http'), readFileSync(join(deploy, 'tessera-503.http')));
    writeFileSync(cfg, haproxyConfig(18377, [{ name: 'n1', port: 18378 }], dir));
    execFileSync(haproxyBin(), ['-c', '-q', '-f', cfg]);
    const shipped = readFileSync(join(deploy, 'haproxy.cfg'), 'utf8');
    expect(shipped).toMatch(/option httpchk GET \/readyz/);
    expect(readFileSync(join(deploy, 'tessera-503.http'), 'utf8')).toMatch(
      /^HTTP\/1\.1 503 [^\n]*\r\n[\s\S]*Retry-After: 1\r\n/,
    );
  });

  it('tessera.service passes systemd-analyze verify', () => {
    const unit = readFileSync(join(deploy, 'tessera.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/tessera server /m);
    expect(unit).toMatch(/^NoNewPrivileges=true$/m);
    const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
    if (!analyze) return; // the structural checks above still ran
    const copy = join(dir, 'tessera.service');
    writeFileSync(copy, unit.replace('/usr/bin/tessera', `${process.execPath} ${bin}`));
    const out = execFileSync(analyze, ['verify', copy], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toBe('');
  });

  it('the Kubernetes manifests are well-formed and drain unready pods', () => {
    const docs = parseAllDocuments(readFileSync(join(deploy, 'kubernetes', 'tessera.yaml'), 'utf8'));
    for (const d of docs) expect(d.errors).toEqual([]);
    const objects = docs.map((d) => d.toJS());
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
    for (const o of objects) {
      expect(typeof o.apiVersion).toBe('string');
      expect(o.metadata.name).toBe('tessera');
    }
    const deployment = objects.find((o) => o.kind === 'Deployment');
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(3);
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    const c = deployment.spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    const env = Object.fromEntries(c.env.map((e: { name: string }) => [e.name, e]));
    // Key material and the store's password come from a Secret, never inline.
    expect(env.TESSERA_ROOT_KEY.valueFrom.secretKeyRef).toBeDefined();
    expect(env.TESSERA_STORE_URL.valueFrom.secretKeyRef).toBeDefined();
    expect(env.TESSERA_ENV.value).toBe('production');
    const service = objects.find((o) => o.kind === 'Service');
    expect(service.spec.selector).toEqual(labels);
    expect(objects.find((o) => o.kind === 'PodDisruptionBudget').spec.selector.matchLabels).toEqual(labels);
  });

  it('the Containerfile runs the CLI as a non-root user with a health check', () => {
    const file = readFileSync(join(deploy, 'Containerfile'), 'utf8');
    const lines = file.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    const known =
      /^(FROM|WORKDIR|COPY|RUN|ENV|USER|VOLUME|EXPOSE|HEALTHCHECK|STOPSIGNAL|ENTRYPOINT|CMD)\s|^\s+\S|^ && /;
    for (const l of lines) expect(l, l).toMatch(known);
    expect(file).toMatch(/^USER 10001:10001$/m);
    expect(file).toMatch(/^EXPOSE 8377$/m);
    expect(file).toMatch(/^HEALTHCHECK /m);
    expect(file).toMatch(/^ENTRYPOINT \["node", "\/opt\/tessera\/packages\/cli\/bin\/tessera.js"\]$/m);
    for (const path of [
      'package.json',
      'package-lock.json',
      'tsconfig.base.json',
      'packages/cli/bin/tessera.js',
    ])
      expect(existsSync(resolve(deploy, '../..', path)), path).toBe(true);
  });
});
