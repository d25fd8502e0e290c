'use strict';
// Location history (issue #13): a rider sends positions over WebSocket
// (PROTOCOL.md), then an admin reads them back through
// GET /v1/riders/{id}/history and `courier-ctl history`, raw and by the
// minute; the history survives a restart of the node (segments on disk);
// its metrics show through `courier-ctl metrics --match courier_history`.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const H = require('./lib/harness');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
H.watchdog(150000);

const riderId = 'r-hist-1';
const points = 108; // 9 minutes at one per 5 s
const spacingMs = 5000;
// Dated in the past (the rider's clock), but within 10 minutes: never in an
// hour the node has closed, whatever the time of day.
const firstAt = Math.floor((Date.now() - points * spacingMs - 10000) / 1000) * 1000;
const sent = [];
for (let i = 0; i < points; i++) {
  sent.push({ at_ms: firstAt + i * spacingMs, lat: 37.4979 + i * 1e-4, lng: 127.0276 - i * 2e-5 });
}

let node;
let adminTok;

function ctl(argv, { check = true } = {}) {
  const r = spawnSync(args.ctl, argv, { encoding: 'utf8', timeout: 20000 });
  if (check) assert.equal(r.status, 0, `courier-ctl ${argv.join(' ')}: ${r.stderr}`);
  return r;
}

/// Parses courier-ctl history's lines: at_ms, time, lat, lng[, count].
function ctlPoints(stdout) {
  return stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const f = l.split('\t');
    return { at_ms: Number(f[0]), time: f[1], lat: Number(f[2]), lng: Number(f[3]), count: f[4] && Number(f[4]) };
  });
}

function assertSameRaw(got, what) {
  assert.equal(got.length, points, `${what}: ${points} raw points, got ${got.length}`);
  for (let i = 0; i < points; i++) {
    assert.equal(got[i].at_ms, sent[i].at_ms, `${what}: point ${i} time`);
    assert.ok(Math.abs(got[i].lat - sent[i].lat) < 1e-6, `${what}: point ${i} lat ${got[i].lat} vs ${sent[i].lat}`);
    assert.ok(Math.abs(got[i].lng - sent[i].lng) < 1e-6, `${what}: point ${i} lng`);
  }
}

before(async () => {
  node = await H.CourierNode.start(args);
  adminTok = node.token('admin', 'ops-history');
  const rider = await H.connectAs(node, WebSocket, 'rider', riderId);
  for (let i = 0; i < points; i++) {
    rider.send({ type: 'position', seq: i + 1, lat: sent[i].lat, lng: sent[i].lng, time_ms: sent[i].at_ms });
  }
  await rider.next((m) => m.type === 'ack' && m.seq >= points, 10000, `ack >= ${points}`);
  rider.close();
});
after(async () => {
  const r = await node.stop();
  assert.equal(r.code, 0, `courier-node exits 0 on SIGTERM (got ${JSON.stringify(r)})`);
});

const historyPath = (q) => `/v1/riders/${riderId}/history${q}`;

describe('REST /v1/riders/{id}/history', () => {
  test('raw_points_come_back_in_order_with_their_positions', async () => {
    const r = await H.http(node, 'GET', historyPath(`?from=${firstAt}&detail=raw`), { token: adminTok });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.rider_id, riderId);
    assert.equal(r.json.detail, 'raw');
    assert.equal(r.json.from, firstAt);
    assert.equal(r.json.truncated, false);
    assertSameRaw(r.json.points, 'REST raw');
    // Defaults: the last hour up to now, raw.
    const d = await H.http(node, 'GET', historyPath(''), { token: adminTok });
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json.detail, 'raw');
    assert.ok(Math.abs(d.json.to - Date.now()) < 60000, `to defaults to now: ${d.json.to}`);
    assert.equal(d.json.to - d.json.from, 3600000, 'from defaults to an hour before to');
    assertSameRaw(d.json.points, 'REST default range');
  });

  test('minute_means_count_every_position', async () => {
    const r = await H.http(node, 'GET', historyPath(`?from=${firstAt - 60000}&detail=minute`), { token: adminTok });
    assert.equal(r.status, 200, r.text);
    const minutes = r.json.points;
    assert.ok(minutes.length >= 9 && minutes.length <= 10, `9 or 10 minutes: ${minutes.length}`);
    assert.equal(minutes.reduce((n, m) => n + m.count, 0), points, 'every position counted once');
    for (const m of minutes) {
      assert.equal(m.at_ms % 60000, 0, 'a minute starts on the minute');
      const inside = sent.filter((p) => p.at_ms >= m.at_ms && p.at_ms < m.at_ms + 60000);
      assert.equal(m.count, inside.length, `count of minute ${m.at_ms}`);
      const lat = inside.reduce((s, p) => s + p.lat, 0) / inside.length;
      assert.ok(Math.abs(m.lat - lat) < 1e-6, `mean lat of minute ${m.at_ms}: ${m.lat} vs ${lat}`);
    }
  });

  test('bad_queries_are_400_non_admins_403_and_old_ranges_truncated', async () => {
    const custTok = node.token('customer', 'c-hist');
    const f = await H.http(node, 'GET', historyPath(''), { token: custTok });
    assert.equal(f.status, 403, f.text);
    assert.equal(f.json.code, 'forbidden');
    const anon = await H.http(node, 'GET', historyPath(''));
    assert.equal(anon.status, 401, anon.text);
    for (const [q, why] of [['?detail=hour', /detail/], ['?from=abc', /from/], ['?to=-5', /to/],
      [`?from=${firstAt}&to=${firstAt}`, /before/]]) {
      const b = await H.http(node, 'GET', historyPath(q), { token: adminTok });
      assert.equal(b.status, 400, `${q}: ${b.text}`);
      assert.equal(b.json.code, 'bad_request');
      assert.match(b.json.message, why);
    }
    const bad = await H.http(node, 'GET', '/v1/riders/r%20x/history', { token: adminTok });
    assert.equal(bad.status, 400, bad.text);
    const old = await H.http(node, 'GET', historyPath(`?from=${Date.now() - 3 * 86400000}`), { token: adminTok });
    assert.equal(old.status, 200, old.text);
    assert.equal(old.json.truncated, true, 'raw points are kept 24 h: the range was clipped');
    assert.ok(old.json.from >= Date.now() - 86400000 - 60000, `clipped from: ${old.json.from}`);
    assertSameRaw(old.json.points, 'clipped range');
    const week = await H.http(node, 'GET', historyPath(`?from=${Date.now() - 3 * 86400000}&detail=minute`), { token: adminTok });
    assert.equal(week.json.truncated, false, 'minutes are kept 7 days');
    const none = await H.http(node, 'GET', '/v1/riders/r-nobody/history', { token: adminTok });
    assert.equal(none.status, 200);
    assert.deepEqual(none.json.points, []);
  });
});

describe('courier-ctl history', () => {
  test('prints_one_point_per_line_with_an_admin_token_or_the_secret', async () => {
    const viaToken = ctl(['history', riderId, '--node', node.httpUrl, '--from', String(firstAt),
      '--token', node.token('admin', 'ops-ctl')]);
    assert.match(viaToken.stdout, /^# rider r-hist-1 raw from /m);
    assertSameRaw(ctlPoints(viaToken.stdout), 'ctl --token');
    assert.match(ctlPoints(viaToken.stdout)[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const viaSecret = ctl(['history', riderId, `--node=${node.httpUrl}`, `--from=${firstAt - 60000}`,
      '--secret', node.secret, '--detail', 'minute']);
    const minutes = ctlPoints(viaSecret.stdout);
    assert.equal(minutes.reduce((n, m) => n + m.count, 0), points, viaSecret.stdout);
    const json = ctl(['history', riderId, '--node', node.httpUrl, '--from', String(firstAt),
      '--secret', node.secret, '--json']);
    assertSameRaw(JSON.parse(json.stdout).points, 'ctl --json');
    const clipped = ctl(['history', riderId, '--node', node.httpUrl, '--secret', node.secret,
      '--from', String(Date.now() - 2 * 86400000)]);
    assert.match(clipped.stderr, /truncated/);
  });

  test('fails_clearly_on_bad_flags_a_bad_token_and_an_unreachable_node', async () => {
    const usage = ctl(['history', riderId, '--detail', 'hourly', '--secret', 's'], { check: false });
    assert.equal(usage.status, 2, usage.stderr);
    assert.match(usage.stderr, /--detail must be raw or minute/);
    const noAuth = ctl(['history', riderId, '--node', node.httpUrl], { check: false });
    assert.equal(noAuth.status, 2);
    assert.match(noAuth.stderr, /admin token/);
    const wrong = ctl(['history', riderId, '--node', node.httpUrl, '--secret', 'not-the-secret'], { check: false });
    assert.equal(wrong.status, 1, wrong.stderr);
    assert.match(wrong.stderr, /HTTP 401/);
    const notAdmin = ctl(['history', riderId, '--node', node.httpUrl, '--token', node.token('rider', riderId)], { check: false });
    assert.equal(notAdmin.status, 1);
    assert.match(notAdmin.stderr, /HTTP 403: admin only/);
    const gone = ctl(['history', riderId, '--node', 'http://127.0.0.1:1', '--secret', 's'], { check: false });
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /127\.0\.0\.1:1: .*refused/i);
  });

  test('metrics_show_the_history_of_a_node', async () => {
    const out = ctl(['metrics', '--node', node.httpUrl, '--match', 'courier_history']).stdout;
    for (const name of ['courier_history_bytes', 'courier_history_segments', 'courier_history_queries_total',
      'courier_history_positions_total']) {
      assert.match(out, new RegExp(`^${name} [0-9]+$`, 'm'), `${name} in:\n${out}`);
    }
    assert.match(out, /^courier_history_points_written_total\{series="raw"\} [0-9]+$/m);
    assert.match(out, /^courier_history_points_dropped_total\{series="raw",reason="late"\} 0$/m);
    assert.equal(Number(/^courier_history_positions_total ([0-9]+)$/m.exec(out)[1]), points);
    assert.ok(Number(/^courier_history_queries_total ([0-9]+)$/m.exec(out)[1]) > 0);
  });
});

describe('restart', () => {
  test('history_is_read_from_disk_after_the_node_restarts', async () => {
    const r = await node.stop(10000, { keepData: true });
    assert.equal(r.code, 0, JSON.stringify(r));
    node = await H.CourierNode.start(args, { dataDir: node.dataDir });
    const raw = await H.http(node, 'GET', historyPath(`?from=${firstAt}`), { token: adminTok });
    assert.equal(raw.status, 200, raw.text);
    assertSameRaw(raw.json.points, 'after restart');
    const minutes = await H.http(node, 'GET', historyPath(`?from=${firstAt - 60000}&detail=minute`), { token: adminTok });
    assert.equal(minutes.json.points.reduce((n, m) => n + m.count, 0), points,
      'the open minute was written at the stop');
    const m = await H.http(node, 'GET', '/metrics');
    assert.match(m.text, /^courier_history_bytes [1-9][0-9]*$/m, 'the segments are counted after reopening');
    assert.match(m.text, /^courier_history_torn_records_total 0$/m);
  });
});
