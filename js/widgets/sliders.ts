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
  'busy'
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
}

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
    busy: Boolean(model.get('busy'))
  };
}

/** Horizontal bar chart of signed per-element contributions, as plain SVG. */
export function contributionChart(contrib: Record<string, number>, width = 420): SVGSVGElement {
  const entries = Object.entries(contrib).filter(([, v]) => Number.isFinite(v));
  entries.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  const rowH = 16;
  const label = 40;
  const valueW = 60;
  const height = Math.max(1, entries.length) * rowH + 4;
  const svg = s('svg', { width, height, class: 'jp-matopt-contrib', role: 'img' });
  const maxAbs = Math.max(1e-12, ...entries.map(([, v]) => Math.abs(v)));
  const plotW = width - label - valueW;
  const zero = label + plotW / 2;
  svg.append(s('line', { x1: zero, x2: zero, y1: 0, y2: height, stroke: '#999' }));
  entries.forEach(([el, v], i) => {
    const y = i * rowH + 2;
    const w = (Math.abs(v) / maxAbs) * (plotW / 2);
    svg.append(s('text', { x: 0, y: y + rowH - 4, 'font-size': 11, fill: 'currentColor' }, [el]));
    svg.append(
      s('rect', {
        x: v >= 0 ? zero : zero - w,
        y: y + 2,
        width: Math.max(w, 0.5),
        height: rowH - 4,
        fill: v >= 0 ? '#d6604d' : '#4393c3'
      })
    );
    svg.append(
      s('text', { x: width - valueW + 4, y: y + rowH - 4, 'font-size': 11, fill: 'currentColor' }, [
        (v >= 0 ? '+' : '') + fmt(v, 3)
      ])
    );
  });
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
  root.append(
    h('div', { class: 'jp-matopt-formula-row' }, ['Formula', formulaInput]),
    errorBox,
    rowsBox,
    h('div', { class: 'jp-matopt-add-row' }, [addInput, addButton]),
    predBox
  );

  const sliders = new Map<string, { range: HTMLInputElement; value: HTMLSpanElement }>();

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
      predBox.append(h('div', { class: 'jp-matopt-reason' }, [p.reason]));
    }
    const contrib = p.contributions ?? {};
    if (Object.keys(contrib).length > 0) {
      const cu = p.contributions_units ?? p.units;
      predBox.append(h('div', {}, [`Contribution per element${cu ? ` (${cu})` : ''}`]));
      predBox.append(contributionChart(contrib));
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
  const onError = (): void => {
    state.error = String(model.get('error') ?? '');
    showError();
  };
  const unlisten = listen(model, [
    [['elements', 'lower', 'upper', 'fixed', 'step'], onStructure],
    [['fractions', 'formula'], onFractions],
    [['prediction', 'busy'], onPrediction],
    [['error'], onError]
  ]);

  buildRows();
  showPrediction();
  showError();

  return () => {
    if (timer !== null) {
      clearTimeout(timer);
    }
    unlisten();
  };
}

export default { render };
