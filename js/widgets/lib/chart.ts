/** A tiny SVG x-y chart (points, lines, steps) with axes: enough for convergence and Pareto. */
import { fmt, s } from './dom';

export interface Series {
  x: number[];
  y: number[];
  kind: 'points' | 'line' | 'step';
  color: string;
  label: string;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  xlabel?: string;
  ylabel?: string;
  title?: string;
}

/** About `n` round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) {
    return [lo];
  }
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(v => v >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

export function chart(series: Series[], opts: ChartOptions = {}): SVGSVGElement {
  const width = opts.width ?? 340;
  const height = opts.height ?? 220;
  const m = { l: 52, r: 10, t: opts.title ? 22 : 8, b: 36 };
  const svg = s('svg', { width, height, class: 'jp-matopt-chart', role: 'img' });
  const xs = series.flatMap(q => q.x).filter(Number.isFinite);
  const ys = series.flatMap(q => q.y).filter(Number.isFinite);
  if (opts.title) {
    svg.append(s('text', { x: width / 2, y: 14, 'text-anchor': 'middle', 'font-size': 12, fill: 'currentColor' }, [opts.title]));
  }
  if (xs.length === 0 || ys.length === 0) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', 'font-size': 11, fill: 'currentColor' }, ['no data yet']));
    return svg;
  }
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) {
    x0 -= 0.5;
    x1 += 0.5;
  }
  if (y1 === y0) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const padY = (y1 - y0) * 0.05;
  y0 -= padY;
  y1 += padY;
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const X = (v: number): number => m.l + ((v - x0) / (x1 - x0)) * pw;
  const Y = (v: number): number => m.t + ph - ((v - y0) / (y1 - y0)) * ph;
  svg.append(s('rect', { x: m.l, y: m.t, width: pw, height: ph, fill: 'none', stroke: '#999' }));
  // iterations are whole numbers: no 1.5 on an iteration axis
  const integerX = xs.every(Number.isInteger);
  for (const t of ticks(x0, x1).filter(v => !integerX || Number.isInteger(v))) {
    svg.append(s('line', { x1: X(t), x2: X(t), y1: m.t + ph, y2: m.t + ph + 4, stroke: '#999' }));
    svg.append(s('text', { x: X(t), y: m.t + ph + 15, 'text-anchor': 'middle', 'font-size': 10, fill: 'currentColor' }, [fmt(t, 3)]));
  }
  for (const t of ticks(y0, y1)) {
    svg.append(s('line', { x1: m.l - 4, x2: m.l, y1: Y(t), y2: Y(t), stroke: '#999' }));
    svg.append(s('text', { x: m.l - 6, y: Y(t) + 3, 'text-anchor': 'end', 'font-size': 10, fill: 'currentColor' }, [fmt(t, 3)]));
  }
  if (opts.xlabel) {
    svg.append(s('text', { x: m.l + pw / 2, y: height - 4, 'text-anchor': 'middle', 'font-size': 11, fill: 'currentColor' }, [opts.xlabel]));
  }
  if (opts.ylabel) {
    svg.append(
      s('text', { x: 0, y: 0, transform: `translate(12 ${m.t + ph / 2}) rotate(-90)`, 'text-anchor': 'middle', 'font-size': 11, fill: 'currentColor' }, [opts.ylabel])
    );
  }
  series.forEach((q, k) => {
    const pts = q.x.map((x, i) => [x, q.y[i]]).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
    if (q.kind === 'points') {
      for (const [a, b] of pts) {
        svg.append(s('circle', { cx: X(a), cy: Y(b), r: 3, fill: q.color, 'fill-opacity': 0.75 }));
      }
    } else if (pts.length > 0) {
      let d = `M${X(pts[0][0])},${Y(pts[0][1])}`;
      for (let i = 1; i < pts.length; i++) {
        if (q.kind === 'step') {
          d += `H${X(pts[i][0])}V${Y(pts[i][1])}`;
        } else {
          d += `L${X(pts[i][0])},${Y(pts[i][1])}`;
        }
      }
      svg.append(s('path', { d, fill: 'none', stroke: q.color, 'stroke-width': 1.8 }));
    }
    svg.append(s('rect', { x: m.l + 6, y: m.t + 6 + k * 14, width: 10, height: 3, fill: q.color }));
    svg.append(s('text', { x: m.l + 20, y: m.t + 10 + k * 14, 'font-size': 10, fill: 'currentColor' }, [q.label]));
  });
  return svg;
}
