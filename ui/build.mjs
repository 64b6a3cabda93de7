// Bundles the console (src/app.js and what it imports, uPlot included) with esbuild into
// OUTDIR: app.js, app.css, index.html, favicon.svg. Run by the CMake build (ui/CMakeLists.txt)
// or by hand: node ui/build.mjs OUTDIR.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, 'dist'));
mkdirSync(out, { recursive: true });
await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/app.js' },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outdir: out,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const f of ['index.html', 'favicon.svg'])
  copyFileSync(join(here, 'src', f), join(out, f));
