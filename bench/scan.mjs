// Leaked-credential scan (DESIGN §5, ADR 0020), side by side in one run:
// - throughput (MB/s) of `tessera scan` (Tessera recogniser + secretlint's recommended preset) and of
//   the plain `secretlint` CLI with the same preset, on the same copy of a real tree no one here wrote
//   (a slice of this project's node_modules), alternating which runs first;
// - recall on planted credentials of every Tessera kind (budget: 100%);
// - false positives for Tessera credentials on that corpus (budget: 0).
// `bench/calibrate.mjs` runs first in the same process tree, for the machine's reference points.
// Usage: npm run build && node bench/scan.mjs [--mb 20] [--rounds 2] [--per-kind 200] [--corpus DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { assertBuilt, importServer } from './lib/server-dist.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs();
const MB = Number(args.mb ?? 20);
const ROUNDS = Number(args.rounds ?? 2);
const PER_KIND = Number(args['per-kind'] ?? 200);
const tessera = join(root, 'packages/cli/bin/tessera.js');
const secretlint = join(root, 'node_modules/.bin/secretlint');
assertBuilt();

const work = mkdtempSync(join(tmpdir(), 'tessera-bench-scan-'));
const env = { ...process.env, TESSERA_CONFIG_DIR: join(work, 'config'), TESSERA_SCAN_KEY: 'bench' };

console.log('== calibrate (same run)');
console.log(
  spawnSync(process.execPath, [join(root, 'bench/calibrate.mjs')], { encoding: 'utf8' }).stdout.trim(),
);

// ---------------------------------------------------------------- the corpus
/** Whole packages of node_modules, in name order, until MB megabytes; .gitignore files dropped so
 * both tools read exactly the same files (secretlint does not honour them). */
function buildCorpus(dir) {
  if (args.corpus) return args.corpus;
  const nm = join(root, 'node_modules');
  let bytes = 0;
  const size = (p) => {
    const s = statSync(p);
    if (!s.isDirectory()) return s.size;
    return readdirSync(p).reduce((n, e) => n + size(join(p, e)), 0);
  };
  const packages = readdirSync(nm)
    .filter((n) => !n.startsWith('.') && n !== '@tessera')
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((s) => `${n}/${s}`) : [n]))
    .sort();
  for (const p of packages) {
    if (bytes >= MB * 1024 * 1024) break;
    const from = join(nm, p);
    if (!statSync(from).isDirectory()) continue;
    bytes += size(from);
    cpSync(from, join(dir, p), { recursive: true, dereference: false, verbatimSymlinks: true });
  }
  execFileSync('find', [dir, '-name', '.gitignore', '-delete']);
  execFileSync('find', [dir, '-type', 'l', '-delete']);
  return dir;
}
const corpus = buildCorpus(join(work, 'corpus'));

// ---------------------------------------------------------------- planted credentials
const { createCredentialFactory, newClientSecret, newRegistrationAccessToken } =
  await importServer('crypto/credentials.js');
const { dynamicPassword, rotatedPassword } = await importServer('crypto/random-password.js');
const factory = createCredentialFactory({ hash: () => 'unused' });
const { privateKey } = generateKeyPairSync('ed25519');
const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** A session token as Tessera signs it (the keyring's header and claims, an Ed25519 signature). */
function sessionToken() {
  const header = b64({ alg: 'EdDSA', typ: 'at+jwt', kid: `k-${randomBytes(6).toString('hex')}` });
  const now = Math.floor(Date.now() / 1000);
  const payload = b64({
    iss: 'https://tessera.example',
    aud: 'tessera',
    sub: `i-${randomBytes(10).toString('hex')}`,
    client_id: `p-${randomBytes(8).toString('hex')}`,
    jti: `s-${randomBytes(8).toString('hex')}`,
    iat: now,
    exp: now + 900,
    am: `p-${randomBytes(8).toString('hex')}`,
  });
  const sig = sign(null, Buffer.from(`${header}.${payload}`), privateKey).toString('base64url');
  return `${header}.${payload}.${sig}`;
}
const makers = {
  uid_token: () => factory.newUidToken(),
  access_key: () => factory.newAccessKey(),
  client_secret: () => newClientSecret(),
  registration_token: () => newRegistrationAccessToken(),
  dynamic_password: () => dynamicPassword(32 + Math.floor(Math.random() * 97)),
  rotated_password: () => rotatedPassword(32 + Math.floor(Math.random() * 97)),
  session_token: () => sessionToken(),
};
/** The ways people write credentials down. */
const contexts = [
  (v) => `TOKEN=${v}\n`,
  (v) => `  password: "${v}"\n`,
  (v) => `{"secret": "${v}", "n": 1}\n`,
  (v) => `const key = '${v}';\n`,
  (v) => `curl -H "Authorization: Bearer t-${v}" https://x\n`,
  (v) => `postgres://svc:${v}@db.internal:5432/app\n`,
  (v) => `export X=${v}; echo done\n`,
];
const planted = join(work, 'planted');
mkdirSync(planted);
const expected = {};
for (const [kind, make] of Object.entries(makers)) {
  expected[kind] = PER_KIND;
  let text = '';
  for (let i = 0; i < PER_KIND; i++)
    text += `line ${i} of filler text\n${contexts[i % contexts.length](make())}`;
  writeFileSync(join(planted, `${kind}.txt`), text);
}

// ---------------------------------------------------------------- runs
function timed(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', maxBuffer: 1 << 30, cwd: work });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, ...r };
}
const tesseraScan = () => {
  const r = timed(process.execPath, [tessera, 'scan', corpus, '--json']);
  if (r.status !== 0 && r.status !== 1) throw new Error(`tessera scan failed: ${r.stderr}`);
  return { ...r, report: JSON.parse(r.stdout) };
};
writeFileSync(
  join(work, '.secretlintrc.json'),
  JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] }),
);
const secretlintScan = () => {
  const r = timed(secretlint, [
    `${relative(work, corpus) || '.'}/**/*`,
    '--secretlintrc',
    join(work, '.secretlintrc.json'),
    '--format',
    'json',
    '--output',
    join(work, 'secretlint.json'),
  ]);
  if (r.status !== 0 && r.status !== 1) throw new Error(`secretlint failed: ${r.stderr}`);
  // (Its stdout, piped, is cut short at exit: the report goes to a file.)
  const results = JSON.parse(readFileSync(join(work, 'secretlint.json'), 'utf8') || '[]');
  return { ...r, files: results.length, findings: results.reduce((n, f) => n + f.messages.length, 0) };
};

console.log(`\n== corpus: ${corpus}`);
const rows = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['tessera', 'secretlint'] : ['secretlint', 'tessera'];
  const got = {};
  for (const who of order) got[who] = who === 'tessera' ? tesseraScan() : secretlintScan();
  const t = got.tessera;
  const s = got.secretlint;
  const mb = t.report.scanned.bytes / 1048576;
  rows.push({ mb, t: t.seconds, s: s.seconds });
  const tesseraKinds = t.report.findings.filter((f) => f.tesseraKind);
  console.log(
    `round ${round + 1} (${order.join(' first, then ')}): ${t.report.scanned.units} files, ${mb.toFixed(1)} MB\n` +
      `  tessera scan : ${t.seconds.toFixed(2)} s  ${(mb / t.seconds).toFixed(2)} MB/s  ` +
      `findings: ${t.report.findings.length} (Tessera credentials: ${tesseraKinds.length})\n` +
      `  secretlint   : ${s.seconds.toFixed(2)} s  ${(mb / s.seconds).toFixed(2)} MB/s  ` +
      `findings: ${s.findings} in ${s.files} files\n` +
      `  ratio tessera/secretlint throughput: ${(s.seconds / t.seconds).toFixed(2)}×`,
  );
  if (tesseraKinds.length > 0)
    console.log(`  FALSE POSITIVES: ${tesseraKinds.map((f) => `${f.path}:${f.line}`).join(', ')}`);
}
const ratios = rows.map((r) => r.s / r.t).sort((a, b) => a - b);
console.log(`median ratio over ${ROUNDS} rounds: ${ratios[Math.floor(ratios.length / 2)].toFixed(2)}×`);

const recall = timed(process.execPath, [tessera, 'scan', planted, '--json', '--tessera-only']);
const report = JSON.parse(recall.stdout);
console.log(`\n== recall on planted credentials (${PER_KIND} of each kind)`);
let all = true;
for (const kind of Object.keys(makers)) {
  const found = report.findings.filter((f) => f.tesseraKind === kind).length;
  all &&= found === expected[kind];
  console.log(
    `  ${kind.padEnd(20)} ${found}/${expected[kind]}  ${((100 * found) / expected[kind]).toFixed(1)}%`,
  );
}
console.log(`  other findings: ${report.findings.filter((f) => !f.tesseraKind).length}; recall 100%: ${all}`);
rmSync(work, { recursive: true, force: true });
