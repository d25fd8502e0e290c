'use strict';
// Installs the e2e npm packages (package-lock.json, `npm ci`) into the
// directory given by --dir, once: a stamp with the lock's hash makes later
// runs instant. Exits 77 (ctest SKIP_RETURN_CODE) if npm is missing or the
// registry cannot be reached; the test scripts then skip too.

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const SKIP = 77;
const i = process.argv.indexOf('--dir');
const dir = i > 0 ? process.argv[i + 1] : __dirname;
const lock = fs.readFileSync(path.join(__dirname, 'package-lock.json'));
const hash = crypto.createHash('sha256').update(lock)
  .update(fs.readFileSync(path.join(__dirname, 'package.json'))).digest('hex');
const stamp = path.join(dir, 'node_modules', '.courier-e2e-stamp');

if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) {
  console.log(`e2e npm packages up to date in ${dir}/node_modules`);
  process.exit(0);
}
fs.mkdirSync(dir, { recursive: true });
if (path.resolve(dir) !== path.resolve(__dirname)) {
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(__dirname, f), path.join(dir, f));
}
console.log(`npm ci in ${dir}`);
const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'], {
  cwd: dir, encoding: 'utf8', timeout: 300000,
  env: { ...process.env, npm_config_update_notifier: 'false' },
});
const out = `${r.stdout || ''}${r.stderr || ''}`;
if (r.error || r.status !== 0) {
  console.log(out.split('\n').slice(-25).join('\n'));
  const offline = (r.error && (r.error.code === 'ENOENT' || r.error.code === 'ETIMEDOUT')) ||
    /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network|proxy|socket hang up/i.test(out);
  if (offline) {
    console.log('SKIP: npm could not reach the registry (or is not installed); e2e tests will skip');
    process.exit(SKIP);
  }
  console.error('npm ci failed (not a network problem: fix package.json / package-lock.json)');
  process.exit(1);
}
fs.writeFileSync(stamp, hash);
console.log('e2e npm packages installed');
