// Summarises a V8 .cpuprofile: self time per function and per package, and inclusive time of the
// project's own functions, optionally only over a time window (the measured load phase).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

function where(url, root) {
  if (!url) return { file: '(native)', pkg: '(native / VM)' };
  let path = url;
  try {
    if (url.startsWith('file://')) path = fileURLToPath(url);
  } catch {}
  if (path.startsWith('node:')) return { file: path, pkg: 'node: core' };
  const nm = path.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const file = path.slice(nm + 'node_modules/'.length);
    const parts = file.split('/');
    return { file, pkg: parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0] };
  }
  const file = root ? relative(root, path) : path;
  if (/packages\/server\/dist\//.test(path))
    return { file: `server/dist/${path.split('packages/server/dist/')[1]}`, pkg: 'tessera server' };
  return { file, pkg: file.startsWith('bench/') ? 'bench harness' : 'other' };
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)']);

/**
 * @param file .cpuprofile path
 * @param opts.window [fromEndUs, toEndUs]: only samples between endTime − fromEndUs and endTime − toEndUs
 */
export function summarise(file, { root = null, top = 25, window = null } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const lo = window ? profile.endTime - window[0] : -Infinity;
  const hi = window ? profile.endTime - window[1] : Infinity;
  const self = new Map();
  let total = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < lo || t > hi) continue;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
    total += dt;
  }
  const label = (n) => {
    const cf = n.callFrame;
    const w = where(cf.url, root);
    const name = cf.functionName || '(anonymous)';
    return {
      key: `${name}  ${w.file}${cf.url ? `:${cf.lineNumber + 1}` : ''}`,
      pkg: SPECIAL.has(name) ? name : w.pkg,
      name,
    };
  };
  const fns = new Map();
  const pkgs = new Map();
  const inclusive = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const l = label(n);
    fns.set(l.key, (fns.get(l.key) ?? 0) + us);
    pkgs.set(l.pkg, (pkgs.get(l.pkg) ?? 0) + us);
    // Inclusive time of Tessera's own functions: each function once per sampled stack.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const m = label(byId.get(cur));
      if (m.pkg !== 'tessera server' || seen.has(m.key)) continue;
      seen.add(m.key);
      inclusive.set(m.key, (inclusive.get(m.key) ?? 0) + us);
    }
  }
  const rank = (m, n) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({
        name: k,
        ms: Math.round(us / 100) / 10,
        pct: Math.round((us / total) * 1000) / 10,
      }));
  return {
    totalMs: Math.round(total / 1000),
    windowed: Boolean(window),
    functions: rank(fns, top),
    packages: rank(pkgs, 15),
    tesseraInclusive: rank(inclusive, top),
  };
}

/** Prints a summary as profile.mjs does: packages, top self time, Tessera-inclusive time. */
export function printSummary(s, log = console.log) {
  log(`(${s.totalMs} ms sampled${s.windowed ? ' during the measured load only' : ', whole process'})`);
  log('\nself time by package / area:');
  for (const p of s.packages) log(`  ${String(p.pct).padStart(5)}%  ${p.name}`);
  log('\ntop self-time functions:');
  for (const f of s.functions) log(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
  log('\ninclusive time of Tessera functions (on the stack):');
  for (const f of s.tesseraInclusive) log(`  ${String(f.pct).padStart(5)}%  ${f.name}`);
}
