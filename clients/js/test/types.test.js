// index.d.ts compiles against an app's use of the API (test/types/use.ts,
// strict, nodenext resolution through the package's `exports`), including
// the misuses it must refuse. Needs `typescript` (the e2e npm packages).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tsc = null;
try { tsc = require.resolve('typescript/bin/tsc'); } catch (_) { /* skipped below */ }

test('index_d_ts_types_an_apps_use_and_refuses_misuse', { skip: tsc ? false : "no 'typescript' package (NODE_PATH)" }, () => {
  const project = new URL('./types/tsconfig.json', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, `tsc -p test/types:\n${r.stdout}${r.stderr}`);
});
