// `npm pack` makes an installable tarball: it holds the sources, the
// declarations, the proto and the README, installs offline into an empty
// project, and its entry imports there. Also: the package's proto is the
// project's (messages/proto/courier.proto), byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const noNpm = npm.status === 0 ? false : 'npm is not installed';

test('the_package_proto_is_the_project_proto', () => {
  const ours = fs.readFileSync(path.join(pkgDir, 'proto/courier.proto'), 'utf8');
  const project = fs.readFileSync(path.join(pkgDir, '../../messages/proto/courier.proto'), 'utf8');
  assert.ok(ours === project, 'clients/js/proto/courier.proto differs from messages/proto/courier.proto: copy it over');
});

test('npm_pack_makes_a_tarball_that_installs_and_imports', { skip: noNpm }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-sdk-pack-'));
  try {
    const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: pkgDir, encoding: 'utf8', env, timeout: 60000 });
    assert.equal(packed.status, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout);
    const files = info.files.map((f) => f.path).sort();
    for (const f of ['package.json', 'index.d.ts', 'README.md', 'proto/courier.proto', 'src/index.js', 'src/client.js']) {
      assert.ok(files.includes(f), `${f} in the tarball: ${files.join(', ')}`);
    }
    assert.ok(!files.some((f) => f.startsWith('test/')), 'tests stay out of the tarball');
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
    const inst = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(tmp, info.filename)],
      { cwd: app, encoding: 'utf8', env, timeout: 120000 });
    assert.equal(inst.status, 0, `${inst.stdout}\n${inst.stderr}`);
    fs.writeFileSync(path.join(app, 'main.js'), [
      "import { Client, CourierError, customer, rider, store, admin, protobufCodec } from '@courier/client';",
      "import pkg from '@courier/client/package.json' with { type: 'json' };",
      "const c = new Client({ url: 'ws://127.0.0.1:1/v1/ws', token: 't', reconnect: false });",
      "console.log(JSON.stringify({ state: c.state, types: pkg.types, err: new CourierError('conflict', 'x').code,",
      "  roles: [customer, rider, store, admin].map((f) => typeof f), pb: typeof protobufCodec }));",
    ].join('\n'));
    const run = spawnSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8', timeout: 30000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      state: 'idle', types: './index.d.ts', err: 'conflict', roles: ['function', 'function', 'function', 'function'], pb: 'function',
    });
    assert.ok(fs.existsSync(path.join(app, 'node_modules/@courier/client/index.d.ts')));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
