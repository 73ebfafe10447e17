/**
 * The slider coupling rule, run in the browser so that a drag is smooth.
 *
 * This is a line-by-line twin of `jupyter_matopt/widgets/rebalance.py` (read the rule
 * there): the same floating-point operations in the same order, half-up rounding
 * (`Math.floor(x + 0.5)`) on both sides, so the two agree on random cases
 * (`js/widgets/rebalance.test.mjs` compares them).
 */

export type Fractions = Record<string, number>;

export class RebalanceError extends Error {}

const EPS = 1e-12;

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function units(x: number, n: number): number {
  return Math.floor(x * n + 0.5);
}

export function rebalance(
  fractions: Fractions,
  changed: string,
  newValue: number,
  lower: Fractions = {},
  upper: Fractions = {},
  fixed: Iterable<string> = [],
  step = 0
): Fractions {
  const elements = Object.keys(fractions);
  if (!(changed in fractions)) {
    throw new RebalanceError(`cannot move ${changed}: it is not one of ${elements.join(', ')}`);
  }
  const locked = new Set(fixed);
  if (locked.has(changed)) {
    throw new RebalanceError(`cannot move ${changed}: it is locked (unlock it first)`);
  }
  if (!Number.isFinite(newValue)) {
    throw new RebalanceError(`cannot move ${changed} to ${newValue}: not a finite number`);
  }
  const lo: Fractions = {};
  const hi: Fractions = {};
  const cur: Fractions = {};
  for (const e of elements) {
    lo[e] = lower[e] ?? 0;
    hi[e] = upper[e] ?? 1;
    cur[e] = clip(fractions[e], lo[e], hi[e]);
  }
  const others = elements.filter(e => e !== changed && !locked.has(e));
  let fixedTotal = 0;
  for (const e of elements) {
    if (locked.has(e)) {
      fixedTotal += cur[e];
    }
  }
  let sumLoO = 0;
  let sumHiO = 0;
  for (const e of others) {
    sumLoO += lo[e];
    sumHiO += hi[e];
  }
  const vMin = Math.max(lo[changed], 1 - fixedTotal - sumHiO);
  const vMax = Math.min(hi[changed], 1 - fixedTotal - sumLoO);
  if (vMin > vMax + 1e-9) {
    throw new RebalanceError(
      `cannot move ${changed}: the locked elements and bounds leave no feasible value`
    );
  }
  let nUnits = 0;
  if (step > 0) {
    nUnits = Math.floor(1 / step + 0.5);
  }
  let v = clip(newValue, vMin, Math.max(vMin, vMax));
  if (nUnits > 0) {
    let u = units(v, nUnits);
    const uMin = Math.ceil(vMin * nUnits - 1e-6);
    const uMax = Math.floor(vMax * nUnits + 1e-6);
    if (uMin <= uMax) {
      u = Math.min(Math.max(u, uMin), uMax);
    }
    v = u / nUnits;
  }
  const out: Fractions = { ...cur };
  out[changed] = v;
  const remaining = 1 - fixedTotal - v;
  let totalO = 0;
  for (const e of others) {
    totalO += cur[e];
  }
  const delta = remaining - totalO;
  if (others.length > 0) {
    distribute(out, cur, others, lo, hi, delta);
    if (nUnits > 0) {
      roundToGrid(out, others, lo, hi, nUnits, 1 - fixedTotal - v);
    }
  }
  if (nUnits === 0) {
    settleResidue(out, elements, others, changed, lo, hi);
  }
  return out;
}

/** Put `1 - sum` (summed in order) on the largest of `candidates` (`fallback` when there
 * are none), inside its bounds; twin of `_settle_residue` in widgets/rebalance.py. */
function settleResidue(
  out: Fractions,
  elements: readonly string[],
  candidates: readonly string[],
  fallback: string,
  lo: Fractions,
  hi: Fractions
): void {
  let total = 0;
  for (const e of elements) {
    total += out[e];
  }
  const resid = 1 - total;
  if (resid === 0) {
    return;
  }
  let target = fallback;
  let best = -1;
  for (const e of candidates) {
    if (out[e] > best) {
      best = out[e];
      target = e;
    }
  }
  out[target] = clip(out[target] + resid, lo[target], hi[target]);
}

/** Drop `element` and spread its share over the free others in proportion (twin of
 * `remove_element` in rebalance.py). */
export function removeElement(
  fractions: Fractions,
  element: string,
  lower: Fractions = {},
  upper: Fractions = {},
  fixed: Iterable<string> = [],
  step = 0
): Fractions {
  const elements = Object.keys(fractions).filter(e => e !== element);
  if (!(element in fractions)) {
    throw new RebalanceError(`cannot remove ${element}: it is not one of ${Object.keys(fractions).join(', ')}`);
  }
  if (elements.length === 0) {
    throw new RebalanceError(`cannot remove ${element}: it is the only element`);
  }
  const locked = new Set(fixed);
  const lo: Fractions = {};
  const hi: Fractions = {};
  const cur: Fractions = {};
  for (const e of elements) {
    lo[e] = lower[e] ?? 0;
    hi[e] = upper[e] ?? 1;
    cur[e] = clip(fractions[e], lo[e], hi[e]);
  }
  const free = elements.filter(e => !locked.has(e));
  let fixedTotal = 0;
  for (const e of elements) {
    if (locked.has(e)) {
      fixedTotal += cur[e];
    }
  }
  let sumLo = 0;
  let sumHi = 0;
  let total = 0;
  for (const e of free) {
    sumLo += lo[e];
    sumHi += hi[e];
    total += cur[e];
  }
  const target = 1 - fixedTotal;
  if (free.length === 0 || target > sumHi + 1e-9 || target < sumLo - 1e-9) {
    throw new RebalanceError(
      `cannot remove ${element}: the other free elements cannot take its share within their bounds`
    );
  }
  const out: Fractions = { ...cur };
  distribute(out, cur, free, lo, hi, target - total);
  let nUnits = 0;
  if (step > 0) {
    nUnits = Math.floor(1 / step + 0.5);
  }
  if (nUnits > 0) {
    roundToGrid(out, free, lo, hi, nUnits, target);
  } else {
    settleResidue(out, elements, free, free[0], lo, hi);
  }
  return out;
}

function distribute(
  out: Fractions,
  cur: Fractions,
  others: string[],
  lo: Fractions,
  hi: Fractions,
  delta: number
): void {
  if (delta < 0) {
    let room = 0;
    for (const e of others) {
      room += cur[e] - lo[e];
    }
    if (room > EPS) {
      for (const e of others) {
        out[e] = clip(cur[e] + delta * ((cur[e] - lo[e]) / room), lo[e], hi[e]);
      }
    }
  } else if (delta > 0) {
    let active = [...others];
    let left = delta;
    while (active.length > 0 && left > EPS) {
      let weight = 0;
      for (const e of active) {
        weight += out[e];
      }
      const equal = weight <= EPS;
      const capped: string[] = [];
      for (const e of active) {
        const share = equal ? left / active.length : left * (out[e] / weight);
        if (out[e] + share >= hi[e]) {
          capped.push(e);
        }
      }
      if (capped.length === 0) {
        for (const e of active) {
          const share = equal ? left / active.length : left * (out[e] / weight);
          out[e] = out[e] + share;
        }
        left = 0;
        break;
      }
      for (const e of capped) {
        left -= hi[e] - out[e];
        out[e] = hi[e];
      }
      active = active.filter(e => !capped.includes(e));
    }
  }
}

function roundToGrid(
  out: Fractions,
  others: string[],
  lo: Fractions,
  hi: Fractions,
  n: number,
  remaining: number
): void {
  const target = units(remaining, n);
  const a: Record<string, number> = {};
  const b: Record<string, number> = {};
  const u: Record<string, number> = {};
  const rem: Record<string, number> = {};
  let sum = 0;
  for (const e of others) {
    a[e] = Math.ceil(lo[e] * n - 1e-6);
    b[e] = Math.floor(hi[e] * n + 1e-6);
    const x = out[e] * n;
    let f = Math.floor(x + 1e-9);
    f = Math.min(Math.max(f, a[e]), b[e]);
    u[e] = f;
    rem[e] = x - f;
    sum += f;
  }
  let d = target - sum;
  let guard = 4 * n + 8;
  while (d !== 0 && guard > 0) {
    guard -= 1;
    let pick: string | null = null;
    if (d > 0) {
      for (const e of others) {
        if (u[e] < b[e] && (pick === null || rem[e] > rem[pick])) {
          pick = e;
        }
      }
      if (pick === null) {
        break;
      }
      u[pick] += 1;
      rem[pick] -= 1;
      d -= 1;
    } else {
      for (const e of others) {
        if (u[e] > a[e] && (pick === null || rem[e] < rem[pick])) {
          pick = e;
        }
      }
      if (pick === null) {
        break;
      }
      u[pick] -= 1;
      rem[pick] += 1;
      d += 1;
    }
  }
  for (const e of others) {
    out[e] = u[e] / n;
  }
}
