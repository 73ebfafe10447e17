/**
 * CampaignPanel view: the next suggestions as a table with a measured-value box per row
 * and objective, "Record" (sends the values to the kernel, which `tell`s the campaign and
 * writes the campaign file), "Suggest", a convergence plot and, with two or more
 * objectives, a Pareto plot. Everything shown comes from synced traits.
 */
import type { RenderProps } from '@anywidget/types';
import { chart, Series } from './lib/chart';
import { ensureStyle, fmt, fmtPair, h, listen } from './lib/dom';

/** Synced trait names; tests/widgets compare this list with the Python widget's traits. */
export const TRAITS = [
  'components',
  'objectives',
  'suggestions',
  'history',
  'best_so_far',
  'pareto',
  'n_suggest',
  'path',
  'status',
  'error',
  'busy'
] as const;

interface Suggestion {
  id: number;
  formula: string;
  inputs: Record<string, number>;
  mean?: Record<string, number | null>;
  std?: Record<string, number | null>;
  acquisition?: number | null;
}

interface HistoryRow {
  iteration: number;
  formula: string;
  values: Record<string, number | null>;
}

const CSS = `
.jp-matopt-campaign { font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px;
  color: var(--jp-ui-font-color1, #222); }
.jp-matopt-campaign table { border-collapse: collapse; margin: 4px 0; }
.jp-matopt-campaign th, .jp-matopt-campaign td { padding: 2px 6px; text-align: right;
  border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); font-variant-numeric: tabular-nums; }
.jp-matopt-campaign th { font-weight: 600; }
.jp-matopt-campaign td.jp-matopt-formula-cell { text-align: left; font-family: var(--jp-code-font-family, monospace); }
.jp-matopt-campaign input.jp-matopt-measured { width: 6.5em; }
.jp-matopt-campaign .jp-matopt-actions { display: flex; gap: 8px; align-items: center; margin: 4px 0; }
.jp-matopt-campaign .jp-matopt-error { color: var(--jp-error-color1, #c62828); white-space: pre-wrap; }
.jp-matopt-campaign .jp-matopt-status { color: var(--jp-ui-font-color2, #555); }
.jp-matopt-campaign .jp-matopt-plots { display: flex; gap: 16px; flex-wrap: wrap; }
.jp-matopt-campaign.jp-matopt-busy { opacity: 0.6; }
`;

function render({ model, el }: RenderProps): () => void {
  ensureStyle('jp-matopt-campaign-style', CSS);
  const root = h('div', { class: 'jp-matopt-campaign' });
  const tableBox = h('div');
  const nInput = h('input', { type: 'number', min: '1', max: '100', step: '1', style: 'width: 4em', 'aria-label': 'number of suggestions' });
  const suggestButton = h('button', { type: 'button' }, ['Suggest']);
  const recordButton = h('button', { type: 'button' }, ['Record']);
  const status = h('span', { class: 'jp-matopt-status' });
  const errorBox = h('div', { class: 'jp-matopt-error', role: 'alert' });
  const plots = h('div', { class: 'jp-matopt-plots' });
  root.append(
    h('div', { class: 'jp-matopt-actions' }, [recordButton, suggestButton, nInput, 'more', status]),
    tableBox,
    errorBox,
    plots
  );
  el.append(root);

  // measured values typed but not yet recorded survive a redraw of the table
  const typed = new Map<string, string>();

  function drawTable(): void {
    const comps: string[] = model.get('components') ?? [];
    const objs: string[] = model.get('objectives') ?? [];
    const rows: Suggestion[] = model.get('suggestions') ?? [];
    tableBox.replaceChildren();
    if (rows.length === 0) {
      tableBox.append(h('div', { class: 'jp-matopt-status' }, ['No pending suggestions: press Suggest.']));
      return;
    }
    const head = h('tr', {}, [
      h('th', {}, ['#']),
      h('th', {}, ['formula']),
      ...comps.map(c => h('th', {}, [c])),
      ...objs.map(o => h('th', {}, [`predicted ${o}`])),
      h('th', {}, ['acquisition']),
      ...objs.map(o => h('th', {}, [`measured ${o}`]))
    ]);
    const body = rows.map(r => {
      const cells: Array<HTMLElement> = [
        h('td', {}, [String(r.id)]),
        h('td', { class: 'jp-matopt-formula-cell' }, [r.formula]),
        ...comps.map(c => h('td', {}, [fmt(r.inputs[c] ?? 0, 3)])),
        ...objs.map(o => {
          const m = r.mean?.[o];
          const sd = r.std?.[o];
          return h('td', {}, [m === null || m === undefined ? '–' : fmtPair(m, sd)]);
        }),
        h('td', {}, [r.acquisition === null || r.acquisition === undefined ? '–' : fmt(r.acquisition, 3)])
      ];
      for (const o of objs) {
        const key = `${r.id}:${o}`;
        const input = h('input', { class: 'jp-matopt-measured', type: 'text', inputmode: 'decimal', 'aria-label': `measured ${o} of row ${r.id}` });
        input.value = typed.get(key) ?? '';
        input.addEventListener('input', () => typed.set(key, input.value));
        input.addEventListener('keydown', (ev: KeyboardEvent) => {
          if (ev.key === 'Enter') {
            record();
          }
        });
        cells.push(h('td', {}, [input]));
      }
      return h('tr', {}, cells);
    });
    tableBox.append(h('table', {}, [h('thead', {}, [head]), h('tbody', {}, body)]));
  }

  function drawPlots(): void {
    const objs: string[] = model.get('objectives') ?? [];
    const hist: HistoryRow[] = model.get('history') ?? [];
    const best: Array<number | null> = model.get('best_so_far') ?? [];
    plots.replaceChildren();
    const first = objs[0] ?? 'value';
    const it = hist.map(r => r.iteration);
    const conv: Series[] = [
      { x: it, y: hist.map(r => (r.values[first] ?? NaN) as number), kind: 'points', color: '#4393c3', label: 'measured' },
      { x: best.map((_, i) => i + 1), y: best.map(v => (v === null ? NaN : v)), kind: 'step', color: '#d6604d', label: 'best so far' }
    ];
    plots.append(chart(conv, { title: 'Convergence', xlabel: 'iteration', ylabel: first }));
    if (objs.length >= 2) {
      const front: number[][] = model.get('pareto') ?? [];
      const sorted = [...front].sort((a, b) => a[0] - b[0]);
      plots.append(
        chart(
          [
            { x: hist.map(r => (r.values[objs[0]] ?? NaN) as number), y: hist.map(r => (r.values[objs[1]] ?? NaN) as number), kind: 'points', color: '#999', label: 'measured' },
            { x: sorted.map(p => p[0]), y: sorted.map(p => p[1]), kind: 'line', color: '#d6604d', label: 'Pareto front' }
          ],
          { title: 'Pareto front', xlabel: objs[0], ylabel: objs[1] }
        )
      );
    }
  }

  function drawStatus(): void {
    status.textContent = String(model.get('status') ?? '');
    errorBox.textContent = String(model.get('error') ?? '');
    root.classList.toggle('jp-matopt-busy', Boolean(model.get('busy')));
    nInput.value = String(model.get('n_suggest') ?? 1);
  }

  function record(): void {
    const objs: string[] = model.get('objectives') ?? [];
    const rows: Suggestion[] = model.get('suggestions') ?? [];
    const values: Record<string, Record<string, string>> = {};
    for (const r of rows) {
      for (const o of objs) {
        const text = (typed.get(`${r.id}:${o}`) ?? '').trim();
        if (text !== '') {
          values[String(r.id)] = { ...(values[String(r.id)] ?? {}), [o]: text };
        }
      }
    }
    // the kernel parses and checks the numbers, so a typo is reported in `error`
    model.send({ type: 'record', values });
  }

  recordButton.addEventListener('click', record);
  suggestButton.addEventListener('click', () => {
    const n = Math.max(1, Math.round(Number(nInput.value) || 1));
    model.send({ type: 'suggest', n });
  });

  const onSuggestions = (): void => {
    // forget typed values of rows that are gone (recorded ones)
    const ids = new Set((model.get('suggestions') ?? []).map((r: Suggestion) => String(r.id)));
    for (const key of [...typed.keys()]) {
      if (!ids.has(key.split(':')[0])) {
        typed.delete(key);
      }
    }
    drawTable();
  };
  const onHistory = (): void => drawPlots();
  const unlisten = listen(model, [
    [['suggestions', 'components', 'objectives'], onSuggestions],
    [['history', 'best_so_far', 'pareto'], onHistory],
    [['status', 'error', 'busy', 'n_suggest'], drawStatus]
  ]);
  drawTable();
  drawPlots();
  drawStatus();
  return unlisten;
}

export default { render };
