/** Small DOM and formatting helpers shared by the widgets (inlined into each bundle). */

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  children: Array<Node | string> = []
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') {
      node.className = v;
    } else {
      node.setAttribute(k, v);
    }
  }
  for (const c of children) {
    node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  children: Array<Node | string> = []
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, String(v));
  }
  for (const c of children) {
    node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

/** Attach a stylesheet once per document (widgets may be displayed many times). */
export function ensureStyle(id: string, css: string): void {
  if (typeof document === 'undefined' || document.getElementById(id)) {
    return;
  }
  const style = document.createElement('style');
  style.id = id;
  style.textContent = css;
  document.head.append(style);
}

/** A number with about `digits` significant digits, without trailing zeros. */
export function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) {
    return String(x);
  }
  if (x === 0) {
    return '0';
  }
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) {
    return x.toExponential(digits - 1);
  }
  return String(Number(x.toPrecision(digits)));
}

/** "mean ± std" with the std to two significant digits and the mean to the same decimals. */
export function fmtPair(mean: number, std: number | null | undefined): string {
  if (std === null || std === undefined || !Number.isFinite(std) || std <= 0) {
    return fmt(mean, 5);
  }
  const decimals = Math.min(10, Math.max(0, 1 - Math.floor(Math.log10(std))));
  return `${mean.toFixed(decimals)} ± ${std.toFixed(decimals)}`;
}

/** Formula text such as "Fe0.7Cr0.2Ni0.1" (zeros left out), like jupyter_matopt.to_formula. */
export function formulaOf(fractions: Record<string, number>, decimals = 4): string {
  let out = '';
  for (const [el, v] of Object.entries(fractions)) {
    if (v > 0) {
      let t = v.toFixed(decimals).replace(/0+$/, '').replace(/\.$/, '');
      if (t === '' || t === '0') {
        t = String(Number(v.toPrecision(3)));
      }
      out += el + t;
    }
  }
  return out;
}

/** Viridis, sampled at 9 stops; `t` in [0, 1]. */
const VIRIDIS: Array<[number, number, number]> = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37]
];

export function viridis(t: number): [number, number, number] {
  if (!Number.isFinite(t)) {
    return [200, 200, 200];
  }
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f)
  ];
}

/** A float64/float32 array from a synced Bytes trait (DataView, ArrayBuffer) or a list. */
export function toFloat32(value: unknown): Float32Array {
  if (value instanceof DataView) {
    return new Float32Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  }
  if (value instanceof ArrayBuffer) {
    return new Float32Array(value.slice(0));
  }
  if (ArrayBuffer.isView(value)) {
    const v = value as ArrayBufferView;
    return new Float32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  }
  if (Array.isArray(value)) {
    return Float32Array.from(value as number[]);
  }
  return new Float32Array(0);
}

type Listenable = {
  on(event: string, handler: () => void): void;
  off(event: string, handler: () => void): void;
};

/**
 * Subscribe each handler to `change:<trait>` of its traits; returns the function that
 * unsubscribes exactly those (a render's cleanup), so the two lists cannot drift apart.
 */
export function listen(
  model: Listenable,
  handlers: ReadonlyArray<readonly [ReadonlyArray<string>, () => void]>
): () => void {
  for (const [traits, handler] of handlers) {
    for (const t of traits) {
      model.on(`change:${t}`, handler);
    }
  }
  return () => {
    for (const [traits, handler] of handlers) {
      for (const t of traits) {
        model.off(`change:${t}`, handler);
      }
    }
  };
}
