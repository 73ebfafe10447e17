/**
 * CompositionSliders view: one slider per element, coupled so that the fractions sum to 1.
 *
 * The coupling (lib/rebalance.ts, the twin of widgets/rebalance.py) runs here so that a drag
 * is smooth; the kernel only receives settled values: at most one `fractions` update every
 * SEND_INTERVAL_MS while dragging, and one on release. Prediction, uncertainty, domain flag
 * and per-element contributions come back from the kernel in `prediction`.
 */
import type { AnyModel, RenderProps } from '@anywidget/types';
import { ensureStyle, fmt, fmtPair, formulaOf, h, listen, s } from './lib/dom';
import { Fractions, rebalance } from './lib/rebalance';

/** Synced trait names; tests/widgets compare this list with the Python widget's traits. */
export const TRAITS = [
  'elements',
  'fractions',
  'lower',
  'upper',
  'fixed',
  'step',
  'formula',
  'prediction',
  'error',
  'busy',
  'economics',
  'stability_status'
] as const;

export const SEND_INTERVAL_MS = 100;

interface Prediction {
  mean?: number | null;
  std?: number | null;
  units?: string;
  target?: string;
  in_domain?: boolean | null;
  reason?: string;
  contributions?: Record<string, number>;
  contributions_units?: string;
  base_value?: number | null;
  explained_value?: number | null;
  explained?: string;
  absent?: string[];
  explaining?: boolean;
  formula?: string;
}

interface Economics {
  label?: string;
  error?: string | null;
}

/** The on-request stability estimate (widgets/_stability_panel.py): plain text only. */
interface StabilityStatus {
  enabled?: boolean;
  state?: 'idle' | 'computing' | 'done' | 'stale' | 'error';
  label?: string;
  formula?: string;
  e_above_hull?: number | null;
  detail?: string;
}

/** The explanations' entry pooling every element absent from the composition. */
export const ABSENT = '(absent elements)';

interface State {
  elements: string[];
  fractions: Fractions;
  lower: Fractions;
  upper: Fractions;
  fixed: string[];
  step: number;
  formula: string;
  prediction: Prediction;
  error: string;
  busy: boolean;
  economics: Economics;
  stability: StabilityStatus;
}

const CSS = `
.jp-matopt-sliders { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px;
  color: var(--jp-ui-font-color1, #222); max-width: 640px; padding: 4px 0; }
.jp-matopt-sliders .jp-matopt-row { display: grid;
  grid-template-columns: 3.2em 1.6em 1fr 4.8em 1.6em; align-items: center; gap: 6px; margin: 2px 0; }
.jp-matopt-sliders .jp-matopt-el { font-weight: 600; }
.jp-matopt-sliders input[type=range] { width: 100%; }
.jp-matopt-sliders .jp-matopt-value { text-align: right; font-variant-numeric: tabular-nums; }
.jp-matopt-sliders .jp-matopt-formula-row, .jp-matopt-sliders .jp-matopt-add-row {
  display: flex; gap: 6px; align-items: center; margin: 4px 0; }
.jp-matopt-sliders .jp-matopt-formula { flex: 1; font-family: var(--jp-code-font-family, monospace); }
.jp-matopt-sliders .jp-matopt-error { color: var(--jp-error-color1, #c62828); min-height: 1em;
  white-space: pre-wrap; }
.jp-matopt-sliders .jp-matopt-pred { margin-top: 6px; padding: 6px;
  border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px; }
.jp-matopt-sliders .jp-matopt-pred-main { font-size: 15px; font-weight: 600; }
.jp-matopt-sliders .jp-matopt-badge { display: inline-block; padding: 1px 6px; border-radius: 8px;
  font-size: 11px; margin-left: 8px; }
.jp-matopt-sliders .jp-matopt-in { background: #e8f5e9; color: #1b5e20; }
.jp-matopt-sliders .jp-matopt-out { background: #fff3e0; color: #e65100; }
.jp-matopt-sliders .jp-matopt-busy { opacity: 0.6; }
.jp-matopt-sliders button { cursor: pointer; }
.jp-matopt-sliders .jp-matopt-reason { white-space: normal; overflow-wrap: anywhere;
  font-size: 12px; color: var(--jp-ui-font-color2, #555); margin-top: 2px; }
.jp-matopt-sliders .jp-matopt-econ { font-size: 12px; color: var(--jp-ui-font-color2, #555);
  margin-top: 4px; }
.jp-matopt-sliders .jp-matopt-legend { font-size: 11px; color: var(--jp-ui-font-color2, #555);
  margin-top: 2px; white-space: normal; }
.jp-matopt-sliders .jp-matopt-waterfall { display: block; overflow: visible; }
.jp-matopt-sliders .jp-matopt-stale { opacity: 0.45; }
.jp-matopt-sliders .jp-matopt-stab { display: flex; gap: 6px; align-items: baseline; font-size: 12px;
  margin-top: 4px; }
.jp-matopt-sliders .jp-matopt-stab-label { overflow-wrap: anywhere; }
.jp-matopt-sliders .jp-matopt-stab-error .jp-matopt-stab-label { color: var(--jp-error-color1, #c62828); }
`;

function read(model: AnyModel): State {
  return {
    elements: [...(model.get('elements') ?? [])],
    fractions: { ...(model.get('fractions') ?? {}) },
    lower: { ...(model.get('lower') ?? {}) },
    upper: { ...(model.get('upper') ?? {}) },
    fixed: [...(model.get('fixed') ?? [])],
    step: Number(model.get('step') ?? 0),
    formula: String(model.get('formula') ?? ''),
    prediction: { ...(model.get('prediction') ?? {}) },
    error: String(model.get('error') ?? ''),
    busy: Boolean(model.get('busy')),
    economics: { ...(model.get('economics') ?? {}) },
    stability: { ...(model.get('stability_status') ?? {}) }
  };
}

/** One step of the waterfall: a contribution from `from` to `to`. */
export interface WaterfallStep {
  label: string;
  value: number;
  from: number;
  to: number;
}

/**
 * The waterfall's steps: contributions ordered by size (the absent-elements pool last),
 * each starting where the previous one ended, from `base` to `base + sum`.
 */
export function waterfallSteps(base: number, contrib: Record<string, number>): WaterfallStep[] {
  const entries = Object.entries(contrib).filter(([, v]) => Number.isFinite(v));
  entries.sort((a, b) => {
    if ((a[0] === ABSENT) !== (b[0] === ABSENT)) {
      return a[0] === ABSENT ? 1 : -1;
    }
    return Math.abs(b[1]) - Math.abs(a[1]);
  });
  const steps: WaterfallStep[] = [];
  let at = base;
  for (const [label, value] of entries) {
    steps.push({ label, value, from: at, to: at + value });
    at += value;
  }
  return steps;
}

/**
 * Waterfall of per-element contributions as plain SVG: a marker at the base value (the
 * average training prediction), one bar per contribution from the running total, and a
 * marker at the explained value (the prediction), on one shared value axis.
 */
export function waterfallChart(
  base: number,
  contrib: Record<string, number>,
  opts: { width?: number; baseLabel?: string; endLabel?: string; absentTitle?: string } = {}
): SVGSVGElement {
  const width = opts.width ?? 460;
  const steps = waterfallSteps(base, contrib);
  const end = steps.length ? steps[steps.length - 1].to : base;
  const rowH = 17;
  const label = 118;
  const valueW = 64;
  const rows = steps.length + 2;
  const axisH = 16;
  const height = rows * rowH + axisH + 4;
  const svg = s('svg', { width, height, class: 'jp-matopt-contrib jp-matopt-waterfall', role: 'img' });
  const xs = [base, end, ...steps.map(t => t.to)];
  let lo = Math.min(...xs);
  let hi = Math.max(...xs);
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.04;
  lo -= pad;
  hi += pad;
  const plotW = width - label - valueW;
  const X = (v: number): number => label + ((v - lo) / (hi - lo)) * plotW;
  const text = (x: number, y: number, t: string, extra: Record<string, string | number> = {}) =>
    s('text', { x, y, 'font-size': 11, fill: 'currentColor', ...extra }, [t]);
  // base value
  let y = 2;
  svg.append(text(0, y + rowH - 5, opts.baseLabel ?? 'base (training mean)'));
  svg.append(s('line', { x1: X(base), x2: X(base), y1: y + 2, y2: height - axisH, stroke: '#888', 'stroke-dasharray': '3 2' }));
  svg.append(s('circle', { cx: X(base), cy: y + rowH / 2, r: 3.5, fill: '#666' }));
  svg.append(text(width - valueW + 4, y + rowH - 5, fmt(base, 4)));
  steps.forEach((t, i) => {
    y = (i + 1) * rowH + 2;
    const x0 = X(Math.min(t.from, t.to));
    const w = Math.max(Math.abs(X(t.to) - X(t.from)), 1);
    const name = text(0, y + rowH - 5, t.label);
    if (t.label === ABSENT && opts.absentTitle) {
      const tip = s('title', {}, [opts.absentTitle]);
      name.append(tip);
    }
    svg.append(name);
    const bar = s('rect', {
      x: x0,
      y: y + 3,
      width: w,
      height: rowH - 6,
      fill: t.value >= 0 ? '#d6604d' : '#4393c3'
    });
    bar.append(s('title', {}, [`${t.label}: ${t.value >= 0 ? '+' : ''}${fmt(t.value, 4)} (${fmt(t.from, 4)} → ${fmt(t.to, 4)})`]));
    svg.append(bar);
    if (i < steps.length - 1) {
      // connector to the next bar's start
      svg.append(s('line', { x1: X(t.to), x2: X(t.to), y1: y + rowH - 3, y2: y + rowH + 3, stroke: '#999' }));
    }
    svg.append(text(width - valueW + 4, y + rowH - 5, (t.value >= 0 ? '+' : '') + fmt(t.value, 3)));
  });
  y = (steps.length + 1) * rowH + 2;
  svg.append(text(0, y + rowH - 5, opts.endLabel ?? 'prediction', { 'font-weight': 600 }));
  svg.append(s('line', { x1: X(end), x2: X(end), y1: 2, y2: height - axisH, stroke: '#333', 'stroke-width': 1.2 }));
  svg.append(s('circle', { cx: X(end), cy: y + rowH / 2, r: 4, fill: '#222' }));
  svg.append(text(width - valueW + 4, y + rowH - 5, fmt(end, 4), { 'font-weight': 600 }));
  // value axis
  const ay = height - axisH;
  svg.append(s('line', { x1: label, x2: label + plotW, y1: ay, y2: ay, stroke: '#999' }));
  for (const v of [lo + pad, (lo + hi) / 2, hi - pad]) {
    svg.append(s('line', { x1: X(v), x2: X(v), y1: ay, y2: ay + 3, stroke: '#999' }));
    svg.append(text(X(v), ay + 13, fmt(v, 3), { 'text-anchor': 'middle', 'font-size': 10 }));
  }
  return svg;
}

function render({ model, el }: RenderProps): () => void {
  ensureStyle('jp-matopt-sliders-style', CSS);
  const root = h('div', { class: 'jp-matopt-sliders' });
  el.append(root);

  let state = read(model);
  let dragging = false;
  let lastSent = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: Fractions | null = null;

  const formulaInput = h('input', {
    class: 'jp-matopt-formula',
    type: 'text',
    placeholder: 'formula, e.g. Fe70Cr20Ni10',
    'aria-label': 'formula'
  });
  const errorBox = h('div', { class: 'jp-matopt-error', role: 'alert' });
  const rowsBox = h('div', { class: 'jp-matopt-rows' });
  const addInput = h('input', { type: 'text', placeholder: 'element', size: '6', 'aria-label': 'element to add' });
  const addButton = h('button', { type: 'button' }, ['Add']);
  const predBox = h('div', { class: 'jp-matopt-pred' });
  const econBox = h('div', { class: 'jp-matopt-econ' });
  const stabButton = h('button', { type: 'button', title: 'energy above the DFT hull from a universal potential (seconds to minutes; cached)' }, ['Stability']);
  const stabLabel = h('span', { class: 'jp-matopt-stab-label', role: 'status' });
  const stabBox = h('div', { class: 'jp-matopt-stab' }, [stabButton, stabLabel]);
  stabButton.addEventListener('click', () => {
    model.send({ type: 'stability' });
  });
  root.append(
    h('div', { class: 'jp-matopt-formula-row' }, ['Formula', formulaInput]),
    errorBox,
    rowsBox,
    h('div', { class: 'jp-matopt-add-row' }, [addInput, addButton]),
    econBox,
    stabBox,
    predBox
  );

  const sliders = new Map<string, { range: HTMLInputElement; value: HTMLSpanElement }>();
  let lastExplain: HTMLElement | null = null;

  function send(fr: Fractions): void {
    lastSent = Date.now();
    pending = null;
    model.set('fractions', { ...fr });
    model.save_changes();
  }

  function schedule(fr: Fractions): void {
    pending = fr;
    const wait = SEND_INTERVAL_MS - (Date.now() - lastSent);
    if (wait <= 0) {
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      send(fr);
    } else if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        if (pending) {
          send(pending);
        }
      }, wait);
    }
  }

  function flush(): void {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending) {
      send(pending);
    }
  }

  function showValues(): void {
    for (const [elName, w] of sliders) {
      const v = state.fractions[elName] ?? 0;
      w.range.value = String(v);
      w.value.textContent = (v * 100).toFixed(state.step > 0 && state.step >= 0.01 ? 0 : 2) + ' %';
    }
    if (document.activeElement !== formulaInput) {
      formulaInput.value = dragging ? formulaOf(state.fractions) : state.formula;
    }
  }

  function buildRows(): void {
    rowsBox.replaceChildren();
    sliders.clear();
    const single = state.elements.length <= 1;
    for (const elName of state.elements) {
      const lo = state.lower[elName] ?? 0;
      const hi = state.upper[elName] ?? 1;
      const locked = state.fixed.includes(elName);
      const range = h('input', {
        type: 'range',
        min: String(lo),
        max: String(hi),
        step: state.step > 0 ? String(state.step) : 'any',
        'aria-label': `${elName} fraction`
      });
      range.disabled = locked || single || lo === hi;
      const lock = h('input', { type: 'checkbox', title: `lock ${elName} at its current fraction` });
      lock.checked = locked;
      const value = h('span', { class: 'jp-matopt-value' });
      const remove = h('button', { type: 'button', title: `remove ${elName}` }, ['×']);
      range.addEventListener('pointerdown', () => {
        dragging = true;
      });
      range.addEventListener('input', () => {
        try {
          state.fractions = rebalance(
            state.fractions,
            elName,
            Number(range.value),
            state.lower,
            state.upper,
            state.fixed,
            state.step
          );
          errorBox.textContent = '';
        } catch (err) {
          errorBox.textContent = String((err as Error).message ?? err);
          return;
        }
        showValues();
        schedule(state.fractions);
      });
      const release = (): void => {
        if (!dragging && pending === null) {
          return;
        }
        dragging = false;
        flush();
      };
      range.addEventListener('change', release);
      range.addEventListener('pointerup', release);
      range.addEventListener('pointercancel', release);
      lock.addEventListener('change', () => {
        const fixed = state.fixed.filter(e => e !== elName);
        if (lock.checked) {
          fixed.push(elName);
        }
        model.set('fixed', fixed);
        model.save_changes();
      });
      remove.addEventListener('click', () => {
        model.send({ type: 'remove_element', element: elName });
      });
      rowsBox.append(
        h('div', { class: 'jp-matopt-row' }, [
          h('span', { class: 'jp-matopt-el' }, [elName]),
          lock,
          range,
          value,
          remove
        ])
      );
      sliders.set(elName, { range, value });
    }
    showValues();
  }

  function showPrediction(): void {
    const p = state.prediction;
    predBox.replaceChildren();
    predBox.classList.toggle('jp-matopt-busy', state.busy);
    if (!p || p.mean === undefined) {
      predBox.style.display = 'none';
      return;
    }
    predBox.style.display = '';
    predBox.dataset.formula = p.formula ?? '';
    const units = p.units ? ` ${p.units}` : '';
    const main = h('div', { class: 'jp-matopt-pred-main' }, [
      `${p.target ?? 'prediction'}: ${p.mean === null ? '–' : fmtPair(p.mean, p.std)}` + units
    ]);
    if (p.in_domain !== null && p.in_domain !== undefined) {
      const badge = h(
        'span',
        { class: `jp-matopt-badge ${p.in_domain ? 'jp-matopt-in' : 'jp-matopt-out'}` },
        [p.in_domain ? 'in domain' : 'out of domain']
      );
      if (p.reason) {
        badge.title = p.reason;
      }
      main.append(badge);
    }
    predBox.append(main);
    if (p.in_domain === false && p.reason) {
      // the full reason, wrapped (not truncated); the badge carries it on hover too
      predBox.append(h('div', { class: 'jp-matopt-reason' }, [p.reason]));
    }
    const contrib = p.contributions ?? {};
    const base = p.base_value;
    if (Object.keys(contrib).length > 0 && base !== null && base !== undefined && Number.isFinite(base)) {
      const block = h('div', { class: 'jp-matopt-explain' });
      const cu = p.contributions_units ?? p.units;
      block.append(
        h('div', {}, [`Why this value: TreeSHAP contributions per element${cu ? ` (${cu})` : ''}`])
      );
      const absent = p.absent ?? [];
      const absentTitle =
        'The effect of the elements not in this composition' +
        (absent.length ? ` (${absent.join(', ')} at 0 %, and every other element the model knows)` : '') +
        ': TreeSHAP credits a model input even when it is zero.';
      block.append(
        waterfallChart(base, contrib, {
          endLabel: p.explained ? 'explained value' : 'prediction',
          absentTitle
        })
      );
      const notes: string[] = ['Bars run from the base value (the average prediction over the training data) to the prediction.'];
      if (ABSENT in contrib) {
        notes.push(`${ABSENT}: ${absentTitle}`);
      }
      if (p.explained) {
        notes.push(p.explained);
      }
      block.append(h('div', { class: 'jp-matopt-legend' }, [notes.join(' ')]));
      lastExplain = block;
      predBox.append(block);
    } else if (p.explaining && lastExplain) {
      // the kernel sends the prediction first and the contributions a moment later: keep
      // the previous chart, faded, rather than letting the box jump
      lastExplain.classList.add('jp-matopt-stale');
      lastExplain.title = 'updating the contributions for the new composition';
      predBox.append(lastExplain);
    }
  }

  function showError(): void {
    errorBox.textContent = state.error;
  }

  formulaInput.addEventListener('keydown', (ev: KeyboardEvent) => {
    if (ev.key === 'Enter') {
      model.set('formula', formulaInput.value);
      model.save_changes();
      formulaInput.blur();
    }
  });
  formulaInput.addEventListener('change', () => {
    model.set('formula', formulaInput.value);
    model.save_changes();
  });
  const add = (): void => {
    const name = addInput.value.trim();
    if (name) {
      model.send({ type: 'add_element', element: name });
      addInput.value = '';
    }
  };
  addButton.addEventListener('click', add);
  addInput.addEventListener('keydown', (ev: KeyboardEvent) => {
    if (ev.key === 'Enter') {
      add();
    }
  });

  const onStructure = (): void => {
    state = read(model);
    buildRows();
  };
  const onFractions = (): void => {
    if (dragging) {
      return; // the kernel's echo of an older value must not pull the thumb back mid-drag
    }
    state.fractions = { ...(model.get('fractions') ?? {}) };
    state.formula = String(model.get('formula') ?? '');
    showValues();
  };
  const onPrediction = (): void => {
    state.prediction = { ...(model.get('prediction') ?? {}) };
    state.busy = Boolean(model.get('busy'));
    showPrediction();
  };
  function showEconomics(): void {
    const econ = state.economics;
    econBox.textContent = econ.label ? `Raw materials: ${econ.label}` : '';
    econBox.title = econ.error ? String(econ.error) : 'pymatgen price (USD/kg) and Herfindahl-Hirschman index of production';
  }
  const onEconomics = (): void => {
    state.economics = { ...(model.get('economics') ?? {}) };
    showEconomics();
  };
  function showStability(): void {
    const st = state.stability;
    stabBox.style.display = st.enabled ? '' : 'none';
    stabBox.className = `jp-matopt-stab jp-matopt-stab-${st.state ?? 'idle'}`;
    // only the old value fades: the button stays inviting, to ask for this composition
    stabLabel.classList.toggle('jp-matopt-stale', st.state === 'stale');
    stabButton.disabled = st.state === 'computing';
    // textContent: the label carries formulas and error messages, never markup
    stabLabel.textContent = st.label || 'energy above the hull of this composition, on request';
    stabLabel.title = st.detail ?? '';
  }
  const onStability = (): void => {
    state.stability = { ...(model.get('stability_status') ?? {}) };
    showStability();
  };
  const onError = (): void => {
    state.error = String(model.get('error') ?? '');
    showError();
  };
  const unlisten = listen(model, [
    [['elements', 'lower', 'upper', 'fixed', 'step'], onStructure],
    [['fractions', 'formula'], onFractions],
    [['prediction', 'busy'], onPrediction],
    [['economics'], onEconomics],
    [['stability_status'], onStability],
    [['error'], onError]
  ]);

  buildRows();
  showPrediction();
  showEconomics();
  showStability();
  showError();

  return () => {
    if (timer !== null) {
      clearTimeout(timer);
    }
    unlisten();
  };
}

export default { render };
