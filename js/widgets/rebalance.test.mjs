// Tests of js/widgets/lib/rebalance.ts with node's test runner:
//   node --test js/widgets/rebalance.test.mjs
// The TypeScript is bundled in memory with esbuild (no build output needed). With
// MATOPT_REBALANCE_CASES=<file.json> it also replays cases computed by the Python twin
// (tests/widgets/test_rebalance.py writes them) and requires the same results.
import * as esbuild from 'esbuild';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundled = await esbuild.build({
  entryPoints: [path.join(here, 'lib', 'rebalance.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  write: false
});
const source = bundled.outputFiles[0].text;
const { rebalance, RebalanceError } = await import(
  'data:text/javascript;base64,' + Buffer.from(source).toString('base64')
);

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function sum(fr) {
  return Object.values(fr).reduce((a, b) => a + b, 0);
}

test('keeps the others in proportion when lower bounds are zero', () => {
  const out = rebalance({ Fe: 0.7, Cr: 0.2, Ni: 0.1 }, 'Fe', 0.4);
  assert.ok(Math.abs(out.Fe - 0.4) < 1e-12);
  assert.ok(Math.abs(out.Cr / out.Ni - 2) < 1e-9);
  assert.ok(Math.abs(sum(out) - 1) < 1e-12);
});

test('a locked element does not move and cannot be moved', () => {
  const out = rebalance({ Fe: 0.7, Cr: 0.2, Ni: 0.1 }, 'Fe', 0.5, {}, {}, ['Ni']);
  assert.equal(out.Ni, 0.1);
  assert.ok(Math.abs(out.Cr - 0.4) < 1e-12);
  assert.throws(() => rebalance({ Fe: 0.7, Cr: 0.3 }, 'Cr', 0.5, {}, {}, ['Cr']), RebalanceError);
});

test('random moves keep the sum, the bounds and the locks', () => {
  const r = rng(12345);
  for (let trial = 0; trial < 300; trial++) {
    const k = 2 + Math.floor(r() * 6);
    const els = ['Fe', 'Cr', 'Ni', 'Mo', 'Mn', 'Si', 'C'].slice(0, k);
    const lower = {};
    const upper = {};
    let fr = {};
    for (const e of els) {
      lower[e] = r() < 0.3 ? r() * 0.1 : 0;
      upper[e] = r() < 0.3 ? 0.3 + r() * 0.7 : 1;
    }
    let total = 0;
    for (const e of els) {
      fr[e] = lower[e] + r();
      total += fr[e];
    }
    for (const e of els) {
      fr[e] /= total;
    }
    const fixed = r() < 0.3 ? [els[0]] : [];
    for (let step = 0; step < 20; step++) {
      const free = els.filter(e => !fixed.includes(e));
      const c = free[Math.floor(r() * free.length)];
      try {
        fr = rebalance(fr, c, r() * 1.2 - 0.1, lower, upper, fixed);
      } catch (err) {
        assert.ok(err instanceof RebalanceError);
        continue;
      }
      // bounds hold only once the start has been repaired (first successful move)
      assert.ok(Math.abs(sum(fr) - 1) <= 1e-9, `sum ${sum(fr)}`);
      for (const e of els) {
        assert.ok(fr[e] >= lower[e] - 1e-12 && fr[e] <= upper[e] + 1e-12, `${e}=${fr[e]}`);
      }
    }
  }
});

const casesFile = process.env.MATOPT_REBALANCE_CASES;
test('agrees with the Python twin', { skip: !casesFile && 'MATOPT_REBALANCE_CASES not set' }, () => {
  const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
  assert.ok(cases.length > 0);
  let n = 0;
  for (const c of cases) {
    let got;
    let error = null;
    try {
      got = rebalance(c.fractions, c.changed, c.new_value, c.lower, c.upper, c.fixed, c.step);
    } catch (err) {
      error = err;
    }
    if (c.error) {
      assert.ok(error instanceof RebalanceError, `case ${n}: expected an error, got ${JSON.stringify(got)}`);
    } else {
      assert.equal(error, null, `case ${n}: ${error}`);
      assert.deepEqual(Object.keys(got), Object.keys(c.expected));
      for (const e of Object.keys(c.expected)) {
        assert.ok(
          Math.abs(got[e] - c.expected[e]) <= 1e-12,
          `case ${n}, ${e}: js ${got[e]} vs python ${c.expected[e]}`
        );
      }
    }
    n++;
  }
});
