#!/usr/bin/env node
// h3_bench.js: the h3-js side of bench/h3 (same points, same output format
// as h3_bench.cpp: "<op> <median calls/s over the runs>").
// usage: node h3_bench.js [--points N] [--runs R] [--res RES]   (needs h3-js)
'use strict';
const h3 = require('h3-js');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const n = arg('--points', 100000);
const runs = Math.max(1, arg('--runs', 5));
const res = arg('--res', 9);

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GANGNAM = [37.4979, 127.0276];
const rand = mulberry32(20240607);
const kmLat = 110.574, kmLng = 111.320 * Math.cos((GANGNAM[0] * Math.PI) / 180);
const pts = [];
for (let i = 0; i < n; i++) {
  const r = 20.0 * Math.sqrt(rand()), th = 2 * Math.PI * rand();
  pts.push([GANGNAM[0] + (r * Math.cos(th)) / kmLat, GANGNAM[1] + (r * Math.sin(th)) / kmLng]);
}
const cells = pts.map(([lat, lng]) => h3.latLngToCell(lat, lng, res));

const rate = (calls, body) => {
  const t0 = process.hrtime.bigint();
  body();
  return calls / (Number(process.hrtime.bigint() - t0) / 1e9);
};
const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];

let sink = 0;
const r = {latLngToCell: [], cellToLatLng: [], gridDisk_k1: [], gridDisk_k2: []};
for (let i = 0; i < runs; i++) {
  r.latLngToCell.push(rate(n, () => { for (const [a, b] of pts) sink += h3.latLngToCell(a, b, res).length; }));
  r.cellToLatLng.push(rate(n, () => { for (const c of cells) sink += h3.cellToLatLng(c)[0]; }));
  r.gridDisk_k1.push(rate(n, () => { for (const c of cells) sink += h3.gridDisk(c, 1).length; }));
  r.gridDisk_k2.push(rate(n, () => { for (const c of cells) sink += h3.gridDisk(c, 2).length; }));
}
for (const [op, v] of Object.entries(r)) console.log(`${op} ${median(v).toFixed(0)}`);
process.stderr.write(`h3_bench.js: ${n} points, res ${res}, ${runs} runs, h3-js ${require('h3-js/package.json').version}, checksum ${sink}\n`);
