/**
 * A left-sidebar panel listing the composition campaigns (`Campaign(path=...)` logs) in the
 * folder of the active notebook, each with its measurement count and best result so far.
 * Clicking one inserts `%matopt campaign <file>` into the active notebook, with the file name
 * quoted so that nothing in it is ever run (see `campaignCell`).
 *
 * Campaign logs are JSON lines whose first line is a header with
 * `"kind": "jupyter_matopt.campaign"`; every further line is one `tell` record
 * (`x`: fractions per component, `y`: one value per objective). Reading them needs no kernel,
 * so the panel works while the kernel is busy or dead.
 */
import type { Contents } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

export const CAMPAIGN_KIND = 'jupyter_matopt.campaign';
// Enough for thousands of measurements; larger files are listed without being read.
const MAX_BYTES = 5_000_000;
const MAX_FILES = 200;

export interface ICampaignSummary {
  path: string;
  name: string;
  components: string[];
  objectives: string[];
  directions: string[];
  n: number;
  /** Per objective: best value and the composition that reached it (null before any tell). */
  best: Array<{ value: number; composition: string } | null>;
  error?: string;
}

type Header = {
  kind?: string;
  settings?: { objectives?: string[]; directions?: string[] };
  space?: { components?: Record<string, unknown> } | null;
  pool?: { columns?: string[] } | null;
};

const ELEMENT = /^[A-Z][a-z]?$/;

// Names that need no quoting on a `%matopt` line (shlex keeps them as one word).
const BARE = /^[A-Za-z0-9._+@=,][A-Za-z0-9._+@=,-]*$/;
// Characters that end or split a line for IPython (str.splitlines) or are invisible controls:
// a name holding one cannot be put on a magic line at all.
const LINE_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A Python string literal for `text`: printable ASCII kept, everything else escaped. */
export function pythonString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
    } else if (code >= 0x20 && code < 0x7f) {
      out += ch;
    } else if (code <= 0xffff) {
      out += '\\u' + code.toString(16).padStart(4, '0');
    } else {
      out += '\\U' + code.toString(16).padStart(8, '0');
    }
  }
  return out + '"';
}

/**
 * The cell that opens the campaign log `name` (a file in the kernel's working directory).
 *
 * The name comes from the file system, so it is data, never code: plain names go on the
 * `%matopt campaign` line as they are; others in single quotes, which the magic's shlex
 * parsing reads literally (the magic is `@no_var_expand`, so `{...}` and `$x` stay text).
 * A name with a line break or a control character cannot sit on one magic line, so it is
 * passed as an escaped Python string literal to `CampaignPanel.from_path` instead.
 */
export function campaignCell(name: string): string {
  if (LINE_BREAKING.test(name)) {
    return (
      'from jupyter_matopt.widgets import CampaignPanel\n' +
      `CampaignPanel.from_path(${pythonString(name)})`
    );
  }
  // a leading "-" would read as an option
  const arg = name.startsWith('-') ? `./${name}` : name;
  const quoted = BARE.test(arg) ? arg : `'${arg.split("'").join(`'"'"'`)}'`;
  return `%matopt campaign ${quoted}`;
}

/** "Fe0.7Cr0.2Ni0.1" for elements; "PEG 0.7 + CNT 0.3" for named ingredients. */
export function formatComposition(components: string[], x: number[]): string {
  const parts: Array<[string, string]> = [];
  components.forEach((c, i) => {
    const v = x[i];
    if (typeof v === 'number' && v > 0) {
      parts.push([c, String(Number(v.toFixed(4)))]);
    }
  });
  if (parts.every(([c]) => ELEMENT.test(c))) {
    return parts.map(([c, v]) => c + v).join('');
  }
  return parts.map(([c, v]) => `${c} ${v}`).join(' + ');
}

/** Summary of one campaign log's text, or null when the text is not a campaign log. */
export function summarizeCampaign(path: string, text: string): ICampaignSummary | null {
  const lines = text.split('\n').filter(line => line.trim().length > 0);
  if (!lines.length) {
    return null;
  }
  let header: Header;
  try {
    header = JSON.parse(lines[0]);
  } catch {
    return null;
  }
  if (!header || header.kind !== CAMPAIGN_KIND) {
    return null;
  }
  const components = header.pool?.columns ?? Object.keys(header.space?.components ?? {});
  const objectives = header.settings?.objectives ?? ['y'];
  const directions = header.settings?.directions ?? objectives.map(() => 'max');
  const summary: ICampaignSummary = {
    path,
    name: path.split('/').pop() ?? path,
    components,
    objectives,
    directions,
    n: 0,
    best: objectives.map(() => null)
  };
  lines.slice(1).forEach((line, i) => {
    let rec: { kind?: string; x?: number[][]; y?: number[][] };
    try {
      rec = JSON.parse(line);
    } catch {
      // The kernel side repairs an interrupted last write; say so only if it is not the last.
      if (i < lines.length - 2) {
        summary.error = `line ${i + 2} is not valid JSON`;
      }
      return;
    }
    if (rec.kind !== 'tell' || !Array.isArray(rec.x) || !Array.isArray(rec.y)) {
      return;
    }
    rec.y.forEach((row, r) => {
      summary.n += 1;
      objectives.forEach((_, j) => {
        const value = Array.isArray(row) ? row[j] : NaN;
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          return;
        }
        const sign = directions[j] === 'min' ? -1 : 1;
        const current = summary.best[j];
        if (current === null || sign * value > sign * current.value) {
          summary.best[j] = {
            value,
            composition: formatComposition(components, rec.x![r] ?? [])
          };
        }
      });
    });
  });
  return summary;
}

function formatValue(v: number): string {
  const tiny = Math.abs(v) < 1e-3 && v !== 0;
  return Math.abs(v) >= 1e4 || tiny ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

export class CampaignPanel extends Widget {
  constructor(
    private readonly contents: Contents.IManager,
    private readonly folder: () => string,
    private readonly open: (summary: ICampaignSummary) => void
  ) {
    super();
    this.id = 'jp-matopt-campaigns';
    this.addClass('jp-matopt-campaigns');
    this.title.caption = 'Composition campaigns';
    const head = document.createElement('div');
    head.className = 'jp-matopt-campaigns-head';
    const title = document.createElement('span');
    title.textContent = 'Campaigns';
    this._folderNode.className = 'jp-matopt-campaigns-folder';
    const refresh = document.createElement('button');
    refresh.className = 'jp-matopt-campaigns-refresh jp-mod-styled';
    refresh.textContent = 'Refresh';
    refresh.title = 'Read the campaign files again';
    refresh.addEventListener('click', () => void this.refresh());
    head.append(title, refresh);
    this._list.className = 'jp-matopt-campaigns-list';
    this.node.append(head, this._folderNode, this._list);
    contents.fileChanged.connect(this._onFileChanged, this);
  }

  get summaries(): ReadonlyArray<ICampaignSummary> {
    return this._summaries;
  }

  /** Re-read the folder; concurrent calls collapse into one pass after the current one. */
  async refresh(): Promise<void> {
    if (this._busy) {
      this._again = true;
      return this._busy;
    }
    this._busy = this._scan().finally(() => {
      this._busy = null;
      if (this._again) {
        this._again = false;
        void this.refresh();
      }
    });
    return this._busy;
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  dispose(): void {
    this.contents.fileChanged.disconnect(this._onFileChanged, this);
    super.dispose();
  }

  private _onFileChanged(_: unknown, change: Contents.IChangedArgs): void {
    const path = change.newValue?.path ?? change.oldValue?.path ?? '';
    if (this.isVisible && (path.endsWith('.json') || path.endsWith('.jsonl'))) {
      void this.refresh();
    }
  }

  private async _scan(): Promise<void> {
    const folder = this.folder();
    this._folderNode.textContent = `in /${folder}`;
    let found: ICampaignSummary[] = [];
    let problem = '';
    try {
      const listing = await this.contents.get(folder, { content: true });
      const files = (Array.isArray(listing.content) ? listing.content : [])
        .filter((m: Contents.IModel) => m.type === 'file' && /\.jsonl?$/.test(m.name))
        .slice(0, MAX_FILES);
      const read = await Promise.all(
        files.map(async (m: Contents.IModel) => {
          if (typeof m.size === 'number' && m.size > MAX_BYTES) {
            return null;
          }
          try {
            const full = await this.contents.get(m.path, {
              content: true,
              format: 'text',
              type: 'file'
            });
            return summarizeCampaign(m.path, String(full.content ?? ''));
          } catch {
            return null;
          }
        })
      );
      found = read.filter((s): s is ICampaignSummary => s !== null);
      found.sort((a, b) => a.name.localeCompare(b.name));
    } catch (e) {
      problem = `could not list /${folder}: ${(e as Error).message ?? e}`;
    }
    this._summaries = found;
    this._render(problem);
  }

  private _render(problem: string): void {
    const list = this._list;
    list.replaceChildren();
    if (problem || !this._summaries.length) {
      const empty = document.createElement('div');
      empty.className = problem ? 'jp-matopt-campaigns-error' : 'jp-matopt-campaigns-empty';
      empty.textContent =
        problem ||
        'No campaign files here yet. Create one with %matopt suggest --path study.json or ' +
          'Campaign(space, path="study.json").';
      list.appendChild(empty);
      return;
    }
    for (const s of this._summaries) {
      const item = document.createElement('div');
      item.className = 'jp-matopt-campaign-item';
      item.dataset.path = s.path;
      item.title = `Insert %matopt campaign ${s.name} into the active notebook`;
      const name = document.createElement('div');
      name.className = 'jp-matopt-campaign-name';
      name.textContent = s.name;
      const meta = document.createElement('div');
      meta.className = 'jp-matopt-campaign-meta';
      meta.textContent =
        `${s.n} measurement${s.n === 1 ? '' : 's'} · ${s.components.length} components` +
        (s.error ? ` · ${s.error}` : '');
      item.append(name, meta);
      s.objectives.forEach((objective, j) => {
        const best = s.best[j];
        const row = document.createElement('div');
        row.className = 'jp-matopt-campaign-best';
        row.dataset.objective = objective;
        row.dataset.value = best ? String(best.value) : '';
        row.textContent = best
          ? `${s.directions[j]} ${objective}: ${formatValue(best.value)} at ${best.composition}`
          : `${s.directions[j]} ${objective}: no measurements yet`;
        item.appendChild(row);
      });
      item.addEventListener('click', () => this.open(s));
      list.appendChild(item);
    }
  }

  private _summaries: ICampaignSummary[] = [];
  private _busy: Promise<void> | null = null;
  private _again = false;
  private readonly _list = document.createElement('div');
  private readonly _folderNode = document.createElement('div');
}
