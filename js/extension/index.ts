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

/** Tutorials shipped in the repository's notebooks/ folder, relative to the server root. */
export const TUTORIALS: ReadonlyArray<{ path: string; title: string }> = [
  { path: 'notebooks/quickstart.ipynb', title: 'Quickstart' },
  { path: 'notebooks/steels.ipynb', title: 'Steels: tuning alloying additions' },
  { path: 'notebooks/high_entropy_alloys.ipynb', title: 'High-entropy alloys' },
  { path: 'notebooks/thermoelectrics.ipynb', title: 'Thermoelectrics: Bi-Sb-Te' },
  { path: 'notebooks/model_honesty.ipynb', title: 'Model honesty: what the model cannot know' }
];

type Cell = { cell_type: 'markdown' | 'code'; source: string };

/** The cells of a new composition study, in order. */
export const STUDY_TEMPLATE: ReadonlyArray<Cell> = [
  {
    cell_type: 'markdown',
    source:
      '# Composition study\n\n' +
      'Train a property model on a dataset, check how well it predicts, then explore ' +
      'compositions and ask for the next ones to try.'
  },
  { cell_type: 'code', source: '%load_ext jupyter_matopt' },
  { cell_type: 'markdown', source: '## Load a dataset' },
  { cell_type: 'code', source: '%matopt load ricci_transport' },
  { cell_type: 'markdown', source: '## Train a model' },
  { cell_type: 'code', source: '%matopt train' },
  { cell_type: 'markdown', source: '## Cross-validate' },
  { cell_type: 'code', source: '%matopt cv' },
  { cell_type: 'markdown', source: '## Explore compositions' },
  { cell_type: 'code', source: '%matopt sliders Bi Sb Te' },
  { cell_type: 'markdown', source: '## Suggest the next experiments' },
  { cell_type: 'code', source: '%matopt suggest -n 5' }
];

/** Cells the insert-* commands put below the active cell. */
const INSERTS: ReadonlyArray<{ id: string; label: string; source: string }> = [
  {
    id: CommandIDs.insertSliders,
    label: 'Insert Composition Sliders Cell',
    source: '%matopt sliders Fe Cr Ni'
  },
  {
    id: CommandIDs.insertTernary,
    label: 'Insert Ternary Diagram Cell',
    source: '%matopt ternary Bi Sb Te'
  },
  {
    id: CommandIDs.insertStructure,
    label: 'Insert Structure Viewer Cell',
    source: '%matopt structure perovskite'
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

function helpBody(app: JupyterFrontEnd, close: () => void): Widget {
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
  heading.textContent = 'Tutorials (paths relative to the Jupyter server root):';
  node.appendChild(heading);

  const list = document.createElement('ul');
  list.className = 'jp-matopt-help-tutorials';
  const treeUrl = app.serviceManager.serverSettings.baseUrl.replace(/\/?$/, '/') + 'lab/tree/';
  for (const tutorial of TUTORIALS) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.className = 'jp-matopt-help-link';
    link.href = treeUrl + tutorial.path.split('/').map(encodeURIComponent).join('/');
    link.dataset.path = tutorial.path;
    link.textContent = tutorial.title;
    link.title = tutorial.path;
    link.addEventListener('click', event => {
      event.preventDefault();
      close();
      void app.commands.execute('docmanager:open', { path: tutorial.path });
    });
    item.appendChild(link);
    item.appendChild(document.createTextNode(` (${tutorial.path})`));
    list.appendChild(item);
  }
  node.appendChild(list);
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
          body: helpBody(app, () => dialog.reject()),
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
