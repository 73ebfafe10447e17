/**
 * TernaryMap view: predicted property (or its uncertainty) over a ternary section, drawn on
 * a canvas: filled grid triangles, marching-triangle contours, a colour bar, training
 * points, the linked sliders' composition, a hover readout; a click selects a composition.
 *
 * Grid order (shared with widgets/ternary.py `ternary_grid`): point (i, j), i + j <= r, has
 * barycentric (a, b, c) = (i, j, r - i - j) / r and index start(i) + j.
 */
import type { AnyModel, RenderProps } from '@anywidget/types';
import { ensureStyle, fmt, h, listen, toFloat32, viridis } from './lib/dom';

/** Synced trait names; tests/widgets compare this list with the Python widget's traits. */
export const TRAITS = [
  'elements',
  'fixed',
  'resolution',
  'mean',
  'std',
  'show',
  'levels',
  'points',
  'marker',
  'selected',
  'target',
  'units',
  'error',
  'busy',
  'region'
] as const;

const CSS = `
.jp-matopt-ternary { font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px;
  color: var(--jp-ui-font-color1, #222); display: inline-block; position: relative; }
.jp-matopt-ternary canvas { cursor: crosshair; display: block; }
.jp-matopt-ternary .jp-matopt-toolbar { display: flex; gap: 10px; align-items: center; margin-bottom: 4px; }
.jp-matopt-ternary .jp-matopt-readout { min-height: 1.3em; font-variant-numeric: tabular-nums; }
.jp-matopt-ternary .jp-matopt-error { color: var(--jp-error-color1, #c62828); white-space: pre-wrap; }
`;

const W = 520;
const H = 440;
const PAD = 36;
const TRI_W = 380;

interface Geometry {
  ax: number;
  ay: number;
  bx: number;
  by: number;
  cx: number;
  cy: number;
}

function geometry(): Geometry {
  const side = TRI_W;
  const height = (side * Math.sqrt(3)) / 2;
  const left = PAD;
  const bottom = PAD + 14 + height;
  return { ax: left, ay: bottom, bx: left + side, by: bottom, cx: left + side / 2, cy: bottom - height };
}

export function toXY(g: Geometry, a: number, b: number, c: number): [number, number] {
  return [a * g.ax + b * g.bx + c * g.cx, a * g.ay + b * g.by + c * g.cy];
}

/** Barycentric (a, b, c) of canvas point (x, y). */
export function toBary(g: Geometry, x: number, y: number): [number, number, number] {
  const det = (g.bx - g.ax) * (g.cy - g.ay) - (g.cx - g.ax) * (g.by - g.ay);
  const b = ((x - g.ax) * (g.cy - g.ay) - (g.cx - g.ax) * (y - g.ay)) / det;
  const c = ((g.bx - g.ax) * (y - g.ay) - (x - g.ax) * (g.by - g.ay)) / det;
  return [1 - b - c, b, c];
}

function start(i: number, r: number): number {
  return i * (r + 1) - (i * (i - 1)) / 2;
}

/** Level values strictly inside [lo, hi]. */
export function contourLevels(lo: number, hi: number, n: number): number[] {
  if (!(hi > lo) || n < 1) {
    return [];
  }
  const out: number[] = [];
  for (let k = 1; k <= n; k++) {
    out.push(lo + ((hi - lo) * k) / (n + 1));
  }
  return out;
}

function finiteRange(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!Number.isFinite(lo)) {
    return [0, 1];
  }
  if (hi === lo) {
    return [lo - 0.5, hi + 0.5];
  }
  return [lo, hi];
}

/** Barycentric point (a, b, c). */
export type Bary = [number, number, number];

/**
 * The allowed region inside the triangle: the simplex clipped by `lo <= b_k <= hi` for each
 * bounded corner (Sutherland-Hodgman; barycentric coordinates are affine, so lines stay
 * lines). Empty when the bounds leave nothing.
 */
export function regionPolygon(bounds: Array<[number, number] | undefined>): Bary[] {
  let poly: Bary[] = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1]
  ];
  const clip = (k: number, limit: number, keepAbove: boolean): void => {
    const inside = (p: Bary): boolean => (keepAbove ? p[k] >= limit - 1e-12 : p[k] <= limit + 1e-12);
    const out: Bary[] = [];
    for (let i = 0; i < poly.length; i++) {
      const p = poly[i];
      const q = poly[(i + 1) % poly.length];
      const pin = inside(p);
      const qin = inside(q);
      if (pin) {
        out.push(p);
      }
      if (pin !== qin) {
        const t = (limit - p[k]) / (q[k] - p[k]);
        out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]), p[2] + t * (q[2] - p[2])]);
      }
    }
    poly = out;
  };
  bounds.forEach((b, k) => {
    if (!b) {
      return;
    }
    if (b[0] > 0) {
      clip(k, b[0], true);
    }
    if (b[1] < 1) {
      clip(k, b[1], false);
    }
  });
  return poly;
}

function render({ model, el }: RenderProps): () => void {
  ensureStyle('jp-matopt-ternary-style', CSS);
  const root = h('div', { class: 'jp-matopt-ternary' });
  const select = h('select', { 'aria-label': 'quantity shown' }, [
    h('option', { value: 'mean' }, ['prediction']),
    h('option', { value: 'std' }, ['uncertainty (std)'])
  ]);
  const readout = h('span', { class: 'jp-matopt-readout' });
  const errorBox = h('div', { class: 'jp-matopt-error', role: 'alert' });
  const canvas = h('canvas', { width: String(W), height: String(H) });
  const ratio = typeof window !== 'undefined' ? window.devicePixelRatio || 1 : 1;
  canvas.width = W * ratio;
  canvas.height = H * ratio;
  canvas.style.width = `${W}px`;
  canvas.style.height = `${H}px`;
  root.append(h('div', { class: 'jp-matopt-toolbar' }, ['Show', select, readout]), canvas, errorBox);
  el.append(root);
  const g = geometry();

  let values = new Float32Array(0);
  let other = new Float32Array(0);

  function load(): void {
    const show = String(model.get('show') ?? 'mean');
    values = toFloat32(model.get(show === 'std' ? 'std' : 'mean'));
    other = toFloat32(model.get(show === 'std' ? 'mean' : 'std'));
    select.value = show;
  }

  function draw(): void {
    const ctx = canvas.getContext('2d');
    if (!ctx) {
      return;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const r = Number(model.get('resolution') ?? 0);
    const n = ((r + 1) * (r + 2)) / 2;
    const els: string[] = model.get('elements') ?? [];
    const show = String(model.get('show') ?? 'mean');
    errorBox.textContent = String(model.get('error') ?? '');
    if (r < 1 || values.length !== n) {
      return;
    }
    const [lo, hi] = finiteRange(values);
    const colour = (v: number): string => {
      const [cr, cg, cb] = viridis((v - lo) / (hi - lo));
      return `rgb(${cr},${cg},${cb})`;
    };
    const xy: Array<[number, number]> = new Array(n);
    for (let i = 0; i <= r; i++) {
      for (let j = 0; i + j <= r; j++) {
        xy[start(i, r) + j] = toXY(g, i / r, j / r, (r - i - j) / r);
      }
    }
    const tri = (p: number, q: number, s: number): void => {
      const v = (values[p] + values[q] + values[s]) / 3;
      ctx.fillStyle = ctx.strokeStyle = Number.isFinite(v) ? colour(v) : '#ccc';
      ctx.beginPath();
      ctx.moveTo(xy[p][0], xy[p][1]);
      ctx.lineTo(xy[q][0], xy[q][1]);
      ctx.lineTo(xy[s][0], xy[s][1]);
      ctx.closePath();
      ctx.fill();
      ctx.lineWidth = 0.6;
      ctx.stroke(); // hides the hairline seams between neighbouring triangles
    };
    const triangles: Array<[number, number, number]> = [];
    for (let i = 0; i < r; i++) {
      for (let j = 0; i + j < r; j++) {
        const p = start(i, r) + j;
        const q = start(i + 1, r) + j;
        const s = p + 1;
        triangles.push([p, q, s]);
        if (i + j + 2 <= r) {
          triangles.push([q, q + 1, s]);
        }
      }
    }
    for (const [p, q, s] of triangles) {
      tri(p, q, s);
    }
    // contours: marching triangles, one path per level
    const levels = contourLevels(lo, hi, Number(model.get('levels') ?? 0));
    ctx.lineWidth = 0.8;
    ctx.strokeStyle = 'rgba(255,255,255,0.75)';
    for (const t of levels) {
      ctx.beginPath();
      for (const idx of triangles) {
        const cross: Array<[number, number]> = [];
        for (let e = 0; e < 3; e++) {
          const p = idx[e];
          const q = idx[(e + 1) % 3];
          const vp = values[p] - t;
          const vq = values[q] - t;
          if (Number.isFinite(vp) && Number.isFinite(vq) && (vp < 0) !== (vq < 0)) {
            const f = vp / (vp - vq);
            cross.push([xy[p][0] + f * (xy[q][0] - xy[p][0]), xy[p][1] + f * (xy[q][1] - xy[p][1])]);
          }
        }
        if (cross.length === 2) {
          ctx.moveTo(cross[0][0], cross[0][1]);
          ctx.lineTo(cross[1][0], cross[1][1]);
        }
      }
      ctx.stroke();
    }
    // the allowed region (space bounds): everything outside it is washed out
    const fixedAll: Record<string, number> = model.get('fixed') ?? {};
    const share = 1 - Object.values(fixedAll).reduce((p, q) => p + q, 0);
    const region: Record<string, [number, number]> = model.get('region') ?? {};
    if (Object.keys(region).length > 0) {
      const poly = regionPolygon(els.map(e => region[e]));
      ctx.save();
      ctx.beginPath();
      ctx.moveTo(g.ax, g.ay);
      ctx.lineTo(g.bx, g.by);
      ctx.lineTo(g.cx, g.cy);
      ctx.closePath();
      if (poly.length >= 3) {
        const [x0, y0] = toXY(g, ...poly[0]);
        ctx.moveTo(x0, y0);
        for (const p of poly.slice(1)) {
          const [x, y] = toXY(g, ...p);
          ctx.lineTo(x, y);
        }
        ctx.closePath();
      }
      ctx.fillStyle = 'rgba(255,255,255,0.62)';
      ctx.fill('evenodd');
      if (poly.length >= 3) {
        ctx.beginPath();
        const [x0, y0] = toXY(g, ...poly[0]);
        ctx.moveTo(x0, y0);
        for (const p of poly.slice(1)) {
          const [x, y] = toXY(g, ...p);
          ctx.lineTo(x, y);
        }
        ctx.closePath();
        ctx.setLineDash([4, 3]);
        ctx.strokeStyle = '#222';
        ctx.lineWidth = 1.2;
        ctx.stroke();
      }
      ctx.restore();
      ctx.fillStyle = getComputedStyle(root).color || '#222';
      ctx.font = '11px sans-serif';
      ctx.textAlign = 'left';
      ctx.fillText(
        poly.length >= 3 ? 'dashed: allowed region (space bounds); outside washed out' : 'the bounds leave no room in this section',
        PAD,
        H - 6
      );
    }
    // frame, 20 % gridlines and corner labels
    ctx.strokeStyle = 'rgba(0,0,0,0.15)';
    ctx.lineWidth = 0.5;
    for (let k = 1; k < 5; k++) {
      const f = k / 5;
      const lines: Array<[[number, number, number], [number, number, number]]> = [
        [[f, 1 - f, 0], [f, 0, 1 - f]],
        [[1 - f, f, 0], [0, f, 1 - f]],
        [[1 - f, 0, f], [0, 1 - f, f]]
      ];
      for (const [p, q] of lines) {
        const [x1, y1] = toXY(g, ...p);
        const [x2, y2] = toXY(g, ...q);
        ctx.beginPath();
        ctx.moveTo(x1, y1);
        ctx.lineTo(x2, y2);
        ctx.stroke();
      }
    }
    ctx.strokeStyle = '#333';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(g.ax, g.ay);
    ctx.lineTo(g.bx, g.by);
    ctx.lineTo(g.cx, g.cy);
    ctx.closePath();
    ctx.stroke();
    // edge ticks: each edge is read as the fraction of the corner it runs towards
    // (bottom: B, right: C, left: A), in atomic % of the whole composition
    const centre = toXY(g, 1 / 3, 1 / 3, 1 / 3);
    ctx.fillStyle = getComputedStyle(root).color || '#222';
    ctx.strokeStyle = '#333';
    ctx.lineWidth = 1;
    ctx.font = '10px sans-serif';
    for (let k = 1; k < 5; k++) {
      const f = k / 5;
      const marks: Array<[Bary, [number, number], [number, number]]> = [
        [[1 - f, f, 0], [g.ax, g.ay], [g.bx, g.by]],
        [[0, 1 - f, f], [g.bx, g.by], [g.cx, g.cy]],
        [[f, 0, 1 - f], [g.cx, g.cy], [g.ax, g.ay]]
      ];
      for (const [p, e0, e1] of marks) {
        const [x, y] = toXY(g, ...p);
        // the edge's outward unit normal
        const ex = e1[0] - e0[0];
        const ey = e1[1] - e0[1];
        const len = Math.hypot(ex, ey) || 1;
        let dx = ey / len;
        let dy = -ex / len;
        if (dx * (x - centre[0]) + dy * (y - centre[1]) < 0) {
          dx = -dx;
          dy = -dy;
        }
        ctx.beginPath();
        ctx.moveTo(x, y);
        ctx.lineTo(x + dx * 5, y + dy * 5);
        ctx.stroke();
        ctx.textAlign = dx < -0.3 ? 'right' : dx > 0.3 ? 'left' : 'center';
        ctx.fillText(fmt(f * share * 100, 3), x + dx * 9, y + dy * 9 + (dy > 0.5 ? 6 : 3));
      }
    }
    ctx.textAlign = 'left';
    ctx.fillText('edge ticks: at.% of the corner each edge runs towards', PAD, H - 20);
    ctx.fillStyle = getComputedStyle(root).color || '#222';
    ctx.font = '600 13px sans-serif';
    ctx.textAlign = 'center';
    ctx.fillText(els[0] ?? 'A', g.ax - 10, g.ay + 22);
    ctx.fillText(els[1] ?? 'B', g.bx + 10, g.by + 22);
    ctx.fillText(els[2] ?? 'C', g.cx, g.cy - 8);
    const fixed: Record<string, number> = model.get('fixed') ?? {};
    const fixedText = Object.entries(fixed)
      .map(([e, v]) => `${e} ${fmt(v * 100, 3)} %`)
      .join(', ');
    if (fixedText) {
      ctx.font = '11px sans-serif';
      ctx.textAlign = 'left';
      ctx.fillText(`fixed: ${fixedText}`, PAD, 14);
    }
    // training points (coloured by measured value on the prediction map)
    const pts: number[][] = model.get('points') ?? [];
    for (const [a, b, c, v] of pts) {
      const [x, y] = toXY(g, a, b, c);
      ctx.beginPath();
      ctx.arc(x, y, 3.5, 0, 2 * Math.PI);
      if (show === 'mean') {
        ctx.fillStyle = colour(Math.min(hi, Math.max(lo, v)));
        ctx.fill();
      }
      ctx.strokeStyle = show === 'mean' ? '#fff' : '#000';
      ctx.lineWidth = 1;
      ctx.stroke();
    }
    const mk: number[] = model.get('marker') ?? [];
    if (mk.length === 3) {
      const [x, y] = toXY(g, mk[0], mk[1], mk[2]);
      ctx.strokeStyle = '#e53935';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x - 6, y);
      ctx.lineTo(x + 6, y);
      ctx.moveTo(x, y - 6);
      ctx.lineTo(x, y + 6);
      ctx.stroke();
    }
    // colour bar
    const bx = PAD + TRI_W + 40;
    const top = g.cy;
    const bh = g.ay - g.cy;
    for (let k = 0; k < bh; k++) {
      const [cr, cg, cb] = viridis(1 - k / bh);
      ctx.fillStyle = `rgb(${cr},${cg},${cb})`;
      ctx.fillRect(bx, top + k, 14, 1.5);
    }
    ctx.strokeStyle = '#333';
    ctx.strokeRect(bx, top, 14, bh);
    ctx.fillStyle = getComputedStyle(root).color || '#222';
    ctx.font = '11px sans-serif';
    ctx.textAlign = 'left';
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4;
      ctx.fillText(fmt(v, 3), bx + 18, top + bh - (bh * k) / 4 + 4);
    }
    const units = String(model.get('units') ?? '');
    const label = `${show === 'std' ? 'std of ' : ''}${model.get('target') ?? ''}${units ? ` (${units})` : ''}`;
    ctx.save();
    ctx.translate(W - 6, top + bh / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText(label, 0, 0);
    ctx.restore();
  }

  function baryAt(ev: MouseEvent): [number, number, number] | null {
    const rect = canvas.getBoundingClientRect();
    const x = ((ev.clientX - rect.left) * W) / rect.width;
    const y = ((ev.clientY - rect.top) * H) / rect.height;
    const [a, b, c] = toBary(g, x, y);
    const tol = -1e-3;
    return a >= tol && b >= tol && c >= tol ? [Math.max(a, 0), Math.max(b, 0), Math.max(c, 0)] : null;
  }

  function composition(abc: [number, number, number]): Record<string, number> {
    const els: string[] = model.get('elements') ?? [];
    const fixed: Record<string, number> = model.get('fixed') ?? {};
    const scale = 1 - Object.values(fixed).reduce((p, q) => p + q, 0);
    const total = abc[0] + abc[1] + abc[2];
    const out: Record<string, number> = {};
    els.forEach((e, k) => {
      out[e] = (abc[k] / total) * scale;
    });
    return { ...out, ...fixed };
  }

  canvas.addEventListener('mousemove', ev => {
    const abc = baryAt(ev);
    const r = Number(model.get('resolution') ?? 0);
    if (!abc || r < 1 || values.length === 0) {
      readout.textContent = '';
      return;
    }
    const i = Math.min(r, Math.round(abc[0] * r));
    const j = Math.min(r - i, Math.round(abc[1] * r));
    const idx = start(i, r) + j;
    const comp = composition(abc);
    const text = Object.entries(comp)
      .map(([e, v]) => `${e}${fmt(v, 3)}`)
      .join(' ');
    const show = String(model.get('show') ?? 'mean');
    const mean = show === 'std' ? other[idx] : values[idx];
    const std = show === 'std' ? values[idx] : other[idx];
    readout.textContent = `${text}: ${fmt(mean, 4)} ± ${fmt(std, 3)} ${model.get('units') ?? ''}`;
  });
  canvas.addEventListener('mouseleave', () => {
    readout.textContent = '';
  });
  canvas.addEventListener('click', ev => {
    const abc = baryAt(ev);
    if (abc) {
      model.set('selected', composition(abc));
      model.save_changes();
    }
  });
  select.addEventListener('change', () => {
    model.set('show', select.value);
    model.save_changes();
  });

  const redraw = (): void => {
    load();
    draw();
  };
  const names = ['mean', 'std', 'show', 'levels', 'points', 'marker', 'resolution', 'error', 'elements', 'fixed', 'region'];
  const unlisten = listen(model as AnyModel, [[names, redraw]]);
  redraw();
  return unlisten;
}

export default { render };
