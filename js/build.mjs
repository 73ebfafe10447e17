// Builds one self-contained ESM file per anywidget widget:
//   js/widgets/<name>.ts  ->  jupyter_matopt/static/<name>.js
// Only files directly in js/widgets/ are entries; put code shared between widgets in a
// subfolder (e.g. js/widgets/lib/) and import it: esbuild inlines it into every widget that
// uses it (no code splitting, so each file can be handed to anywidget as `_esm` on its own).
// CSS and SVG imports are inlined as strings (`import css from "./x.css"`), to be attached
// to the widget's element by the widget itself.
//
//   node js/build.mjs            production build (minified), removes stale outputs
//   node js/build.mjs --dev      unminified, inline source maps
//   node js/build.mjs --watch    --dev, rebuilding on change (restart to pick up new widgets)
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'js', 'widgets');
const outDir = path.join(root, 'jupyter_matopt', 'static');

const watch = process.argv.includes('--watch');
const dev = watch || process.argv.includes('--dev');

export function widgetEntries(dir = srcDir) {
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir)
    .filter(f => /\.tsx?$/.test(f) && !/\.(d|test|spec)\.tsx?$/.test(f))
    .filter(f => statSync(path.join(dir, f)).isFile())
    .sort()
    .map(f => ({ in: path.join(dir, f), out: f.replace(/\.tsx?$/, '') }));
}

const entries = widgetEntries();
const names = entries.map(e => e.out);
const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
if (duplicates.length) {
  console.error(`js/widgets: two entries would both write ${duplicates[0]}.js (.ts and .tsx)`);
  process.exit(1);
}

if (!watch) {
  // A renamed or deleted widget must not leave its old file behind to be shipped.
  rmSync(outDir, { recursive: true, force: true });
}
mkdirSync(outDir, { recursive: true });

if (entries.length === 0) {
  console.log('build:widgets: no js/widgets/*.ts entries yet; nothing to bundle');
  process.exit(0);
}

const options = {
  absWorkingDir: root,
  entryPoints: entries,
  outdir: outDir,
  bundle: true,
  splitting: false,
  format: 'esm',
  platform: 'browser',
  target: ['es2020'],
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'none',
  loader: { '.css': 'text', '.svg': 'text' },
  define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
  logLevel: 'info',
  metafile: true
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log(`build:widgets: watching ${entries.length} widget(s) in js/widgets`);
} else {
  const result = await esbuild.build(options);
  const outputs = Object.keys(result.metafile.outputs).filter(f => f.endsWith('.js'));
  if (outputs.length !== entries.length) {
    // One file per widget is the contract the Python side relies on.
    console.error(`build:widgets: expected ${entries.length} files, esbuild wrote ${outputs}`);
    process.exit(1);
  }
  console.log(`build:widgets: ${names.map(n => `static/${n}.js`).join(', ')}`);
}
