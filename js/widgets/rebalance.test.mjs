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
const { rebalance, removeElement, RebalanceError } = await import(
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

function onGrid(fr, n) {
  return Object.values(fr).every(v => Math.abs(v * n - Math.round(v * n)) < 1e-9);
}

function gridSum(fr, n) {
  return Object.values(fr).reduce((a, v) => a + Math.round(v * n), 0);
}

test('removing an element spreads its share in proportion and keeps zeros at zero', () => {
  const out = removeElement({ Bi: 0.2, Sb: 0.1, Te: 0.29, Se: 0.41, Pb: 0 }, 'Se', {}, {}, [], 0.01);
  assert.deepEqual(Object.keys(out), ['Bi', 'Sb', 'Te', 'Pb']);
  assert.equal(out.Pb, 0);
  assert.ok(onGrid(out, 100));
  assert.equal(gridSum(out, 100), 100);
  // 0.2 : 0.1 : 0.29 scaled by 1 / 0.59 and put on the 1 % grid
  assert.deepEqual(
    Object.fromEntries(Object.entries(out).map(([e, v]) => [e, Math.round(v * 100)])),
    { Bi: 34, Sb: 17, Te: 49, Pb: 0 }
  );
});

test('removing fills up to upper bounds before a zero element gets anything', () => {
  const out = removeElement(
    { Bi: 0.2, Sb: 0, Te: 0.39, Se: 0.41 },
    'Se',
    { Te: 0.55 },
    { Bi: 0.45, Sb: 0.45, Te: 0.65 },
    [],
    0.01
  );
  assert.equal(Math.round(out.Te * 100), 65);
  assert.equal(out.Sb, 0);
  assert.equal(Math.round(out.Bi * 100), 35);
  assert.equal(gridSum(out, 100), 100);
});

test('removing keeps locked elements and refuses when nothing can absorb', () => {
  const out = removeElement({ Fe: 0.5, Cr: 0.3, Ni: 0.2 }, 'Ni', {}, {}, ['Cr']);
  assert.equal(out.Cr, 0.3);
  assert.ok(Math.abs(out.Fe - 0.7) < 1e-12);
  assert.throws(() => removeElement({ Fe: 0.5, Cr: 0.5 }, 'Cr', {}, { Fe: 0.6 }), RebalanceError);
  assert.throws(() => removeElement({ Fe: 1 }, 'Fe'), RebalanceError);
});

test('grid moves never leave the grid and never create a share for a zero element', () => {
  const r = rng(99);
  for (let trial = 0; trial < 200; trial++) {
    let fr = { Fe: 0.5, Cr: 0.3, Ni: 0.2, Mo: 0 };
    for (let k = 0; k < 10; k++) {
      const c = ['Fe', 'Cr', 'Ni'][Math.floor(r() * 3)];
      const othersHold = ['Fe', 'Cr', 'Ni'].some(e => e !== c && fr[e] > 0);
      const moBefore = fr.Mo;
      fr = rebalance(fr, c, r(), {}, {}, [], 0.01);
      assert.ok(onGrid(fr, 100), JSON.stringify(fr));
      assert.equal(gridSum(fr, 100), 100);
      // an element at zero gets a share only when every other free element is at zero too
      // (someone must take the share): with bounds of 1 that is the only way
      if (othersHold && moBefore === 0) {
        assert.equal(fr.Mo, 0, JSON.stringify(fr));
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
      got =
        c.op === 'remove'
          ? removeElement(c.fractions, c.removed, c.lower, c.upper, c.fixed, c.step)
          : rebalance(c.fractions, c.changed, c.new_value, c.lower, c.upper, c.fixed, c.step);
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
