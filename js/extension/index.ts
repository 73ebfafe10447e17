/**
 * The jupyter-matopt JupyterLab plugin: a launcher card, palette and menu commands that
 * create a composition-study notebook or insert ready `%matopt` cells, and a help dialog.
 *
 * The plugin only writes notebook cells; everything interactive is done by the anywidget
 * widgets the magics return, so the kernel side works without this extension too.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { Menu, Widget } from '@lumino/widgets';

import { CampaignPanel, ICampaignSummary, campaignCell } from './campaigns';

// tsc leaves `require` alone and the labextension bundler inlines the JSON, so the version
// shown here is the one in package.json, the single source of truth.
declare const require: (path: string) => { version: string };
export const VERSION: string = require('../package.json').version;

export const PLUGIN_ID = 'jupyter-matopt:plugin';
export const ACTIVATED_MESSAGE = 'jupyter-matopt extension activated';

export namespace CommandIDs {
  export const newStudy = 'jupyter-matopt:new-study';
  export const insertSliders = 'jupyter-matopt:insert-sliders';
  export const insertTernary = 'jupyter-matopt:insert-ternary';
  export const insertStructure = 'jupyter-matopt:insert-structure';
  export const insertSuggest = 'jupyter-matopt:insert-suggest';
  export const openHelp = 'jupyter-matopt:open-help';
  export const showCampaigns = 'jupyter-matopt:show-campaigns';
}

const PALETTE_CATEGORY = 'Materials Optimization';
const LAUNCHER_CATEGORY = 'Materials';
const KERNEL_NAME = 'python3';

/**
 * Tutorials shipped in the repository's notebooks/ folder. `path` is where they are when the
 * server runs in the repository folder, as the README starts it (`jupyter lab
 * notebooks/quickstart.ipynb`); the help dialog looks them up in the server's contents
 * before linking them (see `findTutorials`), so a server started elsewhere gets no dead link.
 */
export const TUTORIALS: ReadonlyArray<{ path: string; title: string }> = [
  { path: 'notebooks/quickstart.ipynb', title: 'Quickstart' },
  { path: 'notebooks/steels.ipynb', title: 'Steels: tuning alloying additions' },
  { path: 'notebooks/high_entropy_alloys.ipynb', title: 'High-entropy alloys' },
  { path: 'notebooks/thermoelectrics.ipynb', title: 'Thermoelectrics: Bi-Sb-Te' },
  { path: 'notebooks/model_honesty.ipynb', title: 'Model honesty: what the model cannot know' }
];

type Cell = { cell_type: 'markdown' | 'code'; source: string };

/**
 * The cells of a new composition study, in order: the quickstart's own steps. The dataset
 * (2,135 experimental formation enthalpies shipped with pymatgen) trains in well under a
 * minute offline; the 47,737-row transport set would take minutes per run-all.
 */
export const STUDY_TEMPLATE: ReadonlyArray<Cell> = [
  {
    cell_type: 'markdown',
    source:
      '# Composition study\n\n' +
      'Train a property model on a dataset, check how well it predicts, then explore ' +
      'compositions and ask for the next ones to try. This template uses experimental ' +
      'formation enthalpies (2,135 compounds, shipped with pymatgen) and the Al-Fe-Ni ' +
      'system; `%matopt list` shows the other datasets.'
  },
  { cell_type: 'code', source: '%load_ext jupyter_matopt' },
  { cell_type: 'markdown', source: '## Load a dataset' },
  { cell_type: 'code', source: '%matopt load expt_formation_enthalpy' },
  { cell_type: 'markdown', source: '## Train a model' },
  { cell_type: 'code', source: '%matopt train' },
  { cell_type: 'markdown', source: '## Cross-validate (each composition in one fold)' },
  { cell_type: 'code', source: '%matopt cv --protocol group' },
  { cell_type: 'markdown', source: '## Explore compositions' },
  { cell_type: 'code', source: '%matopt space Al=0.3:0.55 Fe=0.1:0.5 Ni=0:0.6 --step 0.01' },
  { cell_type: 'code', source: '%matopt sliders' },
  { cell_type: 'code', source: '%matopt ternary Al Fe Ni' },
  { cell_type: 'code', source: '%matopt structure B2' },
  { cell_type: 'markdown', source: '## Suggest the next experiments' },
  { cell_type: 'code', source: '%matopt suggest -n 5 --objective min' }
];

/** Cells the insert-* commands put below the active cell. */
const INSERTS: ReadonlyArray<{ id: string; label: string; source: string }> = [
  {
    id: CommandIDs.insertSliders,
    label: 'Insert Composition Sliders Cell',
    source: '%matopt sliders Al Fe Ni'
  },
  {
    id: CommandIDs.insertTernary,
    label: 'Insert Ternary Diagram Cell',
    source: '%matopt ternary Al Fe Ni'
  },
  {
    id: CommandIDs.insertStructure,
    label: 'Insert Structure Viewer Cell',
    source: '%matopt structure B2'
  },
  {
    id: CommandIDs.insertSuggest,
    label: 'Insert Suggest Candidates Cell',
    source: '%matopt suggest -n 5'
  }
];

// A ternary composition triangle with one composition marked.
export const matoptIcon = new LabIcon({
  name: 'jupyter-matopt:ternary',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<path class="jp-icon3" fill="#616161" d="M12 2 1 21h22L12 2zm0 4 7.5 13h-15L12 6z"/>' +
    '<circle class="jp-icon-brand0" fill="#1976d2" cx="12" cy="14.5" r="2.6"/>' +
    '</svg>'
});

function notebookJSON(): Record<string, unknown> {
  return {
    cells: STUDY_TEMPLATE.map(cell =>
      cell.cell_type === 'code'
        ? { cell_type: 'code', metadata: {}, source: cell.source, outputs: [], execution_count: null }
        : { cell_type: 'markdown', metadata: {}, source: cell.source }
    ),
    metadata: {
      // Without a kernelspec JupyterLab opens a kernel picker, which also blocks automation.
      kernelspec: { name: KERNEL_NAME, display_name: 'Python 3 (ipykernel)', language: 'python' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
}

async function freePath(app: JupyterFrontEnd, cwd: string): Promise<string> {
  // Read the folder once rather than probing names: a probe of a missing file is a 404 that
  // the browser logs as a console error.
  const dir = cwd.replace(/^\/+|\/+$/g, '');
  const listing = await app.serviceManager.contents.get(dir, { content: true });
  const taken = new Set<string>(
    Array.isArray(listing.content) ? listing.content.map((item: { name: string }) => item.name) : []
  );
  for (let i = 0; ; i++) {
    const name = `composition_study${i ? `_${i}` : ''}.ipynb`;
    if (!taken.has(name)) {
      return dir ? `${dir}/${name}` : name;
    }
  }
}

async function newStudy(app: JupyterFrontEnd, cwd: string): Promise<Widget> {
  const path = await freePath(app, cwd);
  await app.serviceManager.contents.save(path, {
    type: 'notebook',
    format: 'json',
    content: notebookJSON()
  });
  return app.commands.execute('docmanager:open', {
    path,
    factory: 'Notebook',
    kernel: { name: KERNEL_NAME }
  }) as Promise<Widget>;
}

function insertBelow(panel: NotebookPanel, source: string): void {
  const notebook = panel.content;
  const shared = notebook.model?.sharedModel;
  if (!shared) {
    return;
  }
  const index = notebook.activeCellIndex < 0 ? shared.cells.length : notebook.activeCellIndex + 1;
  shared.insertCell(index, { cell_type: 'code', source, metadata: {} });
  notebook.activeCellIndex = index;
  notebook.deselectAll();
  void panel.revealed.then(() => notebook.scrollToItem(index));
}

/** Where a tutorial was found on this server: its path from the server root, or null. */
export interface ITutorialLocation {
  path: string;
  title: string;
  found: string | null;
}

type Contents = JupyterFrontEnd['serviceManager']['contents'];

async function listNames(contents: Contents, dir: string): Promise<Set<string> | null> {
  try {
    const listing = await contents.get(dir, { content: true });
    return new Set<string>(
      Array.isArray(listing.content) ? listing.content.map((item: { name: string }) => item.name) : []
    );
  } catch {
    return null;
  }
}

/**
 * Look the tutorials up in the server's contents: in `notebooks/` under the server root (the
 * README's way of starting the server), else in the root itself (a server started inside
 * notebooks/), else beside the active notebook. Folders are listed, never a file probed,
 * so a missing tutorial costs no 404 in the console.
 */
export async function findTutorials(contents: Contents, activeDir: string): Promise<ITutorialLocation[]> {
  const candidates: string[] = [];
  const root = await listNames(contents, '');
  if (root?.has('notebooks')) {
    candidates.push('notebooks');
  }
  candidates.push('');
  if (activeDir && !candidates.includes(activeDir)) {
    candidates.push(activeDir);
  }
  const listings = new Map<string, Set<string>>();
  for (const dir of candidates) {
    const names = dir === '' ? root : await listNames(contents, dir);
    if (names) {
      listings.set(dir, names);
    }
  }
  return TUTORIALS.map(t => {
    const name = t.path.slice(t.path.lastIndexOf('/') + 1);
    for (const [dir, names] of listings) {
      if (names.has(name)) {
        return { ...t, found: dir ? `${dir}/${name}` : name };
      }
    }
    return { ...t, found: null };
  });
}

function helpBody(app: JupyterFrontEnd, close: () => void, activeDir: string): Widget {
  const node = document.createElement('div');
  node.className = 'jp-matopt-help';

  const version = document.createElement('p');
  version.className = 'jp-matopt-help-version';
  version.textContent = `Version ${VERSION}. Machine-learning guided optimization of material composition ratios.`;
  node.appendChild(version);

  const usage = document.createElement('p');
  usage.textContent = 'In a notebook run %load_ext jupyter_matopt, then %matopt --help for the commands.';
  node.appendChild(usage);

  const heading = document.createElement('p');
  heading.className = 'jp-matopt-help-heading';
  heading.textContent = 'Tutorials:';
  node.appendChild(heading);

  const list = document.createElement('ul');
  list.className = 'jp-matopt-help-tutorials';
  node.appendChild(list);
  const missing = document.createElement('p');
  missing.className = 'jp-matopt-help-missing';
  node.appendChild(missing);

  void findTutorials(app.serviceManager.contents, activeDir).then(found => {
    for (const tutorial of found) {
      const item = document.createElement('li');
      if (tutorial.found !== null) {
        const path = tutorial.found;
        const link = document.createElement('a');
        link.className = 'jp-matopt-help-link';
        // a real href for "open in new tab"; a click opens it in this lab through the
        // document manager, by its path from the server root
        link.href =
          app.serviceManager.serverSettings.baseUrl.replace(/\/?$/, '/') +
          'lab/tree/' +
          path.split('/').map(encodeURIComponent).join('/');
        link.dataset.path = path;
        link.textContent = tutorial.title;
        link.title = path;
        link.addEventListener('click', event => {
          event.preventDefault();
          close();
          void app.commands.execute('docmanager:open', { path });
        });
        item.appendChild(link);
        item.appendChild(document.createTextNode(` (${path})`));
      } else {
        item.className = 'jp-matopt-help-unavailable';
        item.textContent = `${tutorial.title} (${tutorial.path}: not under this server's root)`;
      }
      list.appendChild(item);
    }
    if (found.some(t => t.found === null)) {
      missing.textContent =
        'Some tutorials are not under this server\'s root folder. They are in the notebooks/ ' +
        'folder of the jupyter_matopt repository: start JupyterLab from the repository folder ' +
        '(jupyter lab notebooks/quickstart.ipynb) to open them from here.';
    }
    node.dataset.ready = 'true';
  });
  return new Widget({ node });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Launcher card, commands and help for jupyter_matopt composition studies.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ILauncher, IMainMenu],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    mainMenu: IMainMenu | null
  ) => {
    const { commands } = app;

    commands.addCommand(CommandIDs.newStudy, {
      label: args => (args.isLauncher ? 'New composition study' : 'New Composition Study'),
      caption: 'Create a notebook that trains a model, cross-validates it and suggests compositions',
      icon: args => (args.isPalette ? undefined : matoptIcon),
      execute: args => newStudy(app, typeof args.cwd === 'string' ? args.cwd : '')
    });

    const hasNotebook = () => tracker.currentWidget !== null;
    for (const insert of INSERTS) {
      commands.addCommand(insert.id, {
        label: insert.label,
        caption: `Insert "${insert.source}" below the active cell`,
        isEnabled: hasNotebook,
        execute: () => {
          const panel = tracker.currentWidget;
          if (panel) {
            insertBelow(panel, insert.source);
          }
        }
      });
    }

    commands.addCommand(CommandIDs.openHelp, {
      label: 'About jupyter-matopt',
      caption: 'Version and tutorials of jupyter-matopt',
      execute: async () => {
        const dialog: Dialog<unknown> = new Dialog({
          title: 'About jupyter-matopt',
          body: helpBody(app, () => dialog.reject(), notebookFolder()),
          buttons: [Dialog.okButton({ label: 'Close' })]
        });
        dialog.addClass('jp-matopt-help-dialog');
        await dialog.launch();
      }
    });

    // The campaigns of the active notebook's folder (the kernel's working directory, where
    // `%matopt suggest --path` and `Campaign(path=...)` write their logs).
    const notebookFolder = (): string => {
      const path = tracker.currentWidget?.context.path ?? '';
      return path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    };
    const campaigns = new CampaignPanel(
      app.serviceManager.contents,
      notebookFolder,
      (summary: ICampaignSummary) => {
        const panel = tracker.currentWidget;
        if (panel) {
          insertBelow(panel, campaignCell(summary.name));
        } else {
          void app.commands.execute('docmanager:open', { path: summary.path });
        }
      }
    );
    campaigns.title.icon = matoptIcon;
    app.shell.add(campaigns, 'left', { rank: 650 });
    tracker.currentChanged.connect(() => {
      if (campaigns.isVisible) {
        void campaigns.refresh();
      }
    });

    commands.addCommand(CommandIDs.showCampaigns, {
      label: 'Show Composition Campaigns',
      caption: 'List the campaign files beside the active notebook with their best results',
      execute: async () => {
        app.shell.activateById(campaigns.id);
        await campaigns.refresh();
      }
    });

    const allCommands = [
      CommandIDs.newStudy,
      ...INSERTS.map(i => i.id),
      CommandIDs.showCampaigns,
      CommandIDs.openHelp
    ];

    if (palette) {
      for (const command of allCommands) {
        palette.addItem({ command, category: PALETTE_CATEGORY, args: { isPalette: true } });
      }
    }

    if (launcher) {
      launcher.add({
        command: CommandIDs.newStudy,
        category: LAUNCHER_CATEGORY,
        rank: 1,
        args: { isLauncher: true }
      });
    }

    if (mainMenu) {
      const menu = new Menu({ commands });
      menu.id = 'jp-matopt-mainmenu';
      menu.addClass('jp-matopt-menu');
      menu.title.label = 'Materials';
      menu.addItem({ command: CommandIDs.newStudy });
      menu.addItem({ type: 'separator' });
      for (const insert of INSERTS) {
        menu.addItem({ command: insert.id });
      }
      menu.addItem({ type: 'separator' });
      menu.addItem({ command: CommandIDs.showCampaigns });
      menu.addItem({ command: CommandIDs.openHelp });
      mainMenu.addMenu(menu, true, { rank: 1000 });
      mainMenu.helpMenu.addGroup([{ command: CommandIDs.openHelp }], 100);
    }

    // A plain marker that browser tests and users can read without the app object.
    document.body.dataset.matoptVersion = VERSION;
    console.log(ACTIVATED_MESSAGE);
  }
};

export default plugin;
