/**
 * Preloaded into the project's tslab kernel (`node --require`, see environment/jupyter.sh).
 *
 * tslab 1.0.22 compiles the `.ts` files a cell imports and serves their outputs from memory, but its lookup
 * (`requireFromSideOutputs` in tslab/dist/executor.js) maps a request only to `<request>.js`: a directory import
 * (`import … from './layers'`, meaning `./layers/index.ts`) misses it and falls through to Node's own `require`,
 * which finds no `index.js` on disk and fails with "Cannot find module". This hook patches that one line as tslab's
 * executor loads, so the lookup also tries `<request>/index.js` (as TypeScript's own resolution does). When the
 * line is not found (another tslab version) it warns and leaves tslab as it is.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const TARGET = path.join('tslab', 'dist', 'executor.js');
const ORIGINAL = /if \(path_1\.default\.extname\(filename\) === ""\) \{\s*filename \+= "\.js";\s*\}/;
const PATCHED =
  'if (path_1.default.extname(filename) === "") {' +
  ' filename = !sideOutputs.has(filename + ".js") && sideOutputs.has(filename + "/index.js") ? filename + "/index.js" : filename + ".js";' +
  ' }';

const loadJs = Module._extensions['.js'];
Module._extensions['.js'] = function loadPatched(module, filename) {
  if (filename.endsWith(TARGET)) {
    const source = fs.readFileSync(filename, 'utf8');
    if (ORIGINAL.test(source)) {
      module._compile(source.replace(ORIGINAL, PATCHED), filename);
      return;
    }
    process.stderr.write(`mmctr kernel: ${filename} has changed; directory imports (./layers) may fail in notebooks\n`);
  }
  loadJs(module, filename);
};

/*
 * File watching off. tslab builds cells with a TypeScript watch program; any change on disk that the program watches
 * (a file written under the working folder — the notebooks write run folders — or a source edited meanwhile)
 * schedules a rebuild, and tslab's next cell then fails with "Unexpected pending rebuildTimer". Sources are not
 * reloaded within a kernel session anyway (a changed src/ file needs a kernel restart), so nothing is lost; tslab's
 * own in-memory cell files do not go through these functions.
 */
try {
  const tslabDir = path.dirname(require.resolve('tslab/package.json', { paths: [process.cwd()] }));
  const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] }));
  const idle = () => ({ close() {} });
  ts.sys.watchFile = idle;
  ts.sys.watchDirectory = idle;
} catch (err) {
  process.stderr.write(`mmctr kernel: could not turn off TypeScript file watching (${err && err.message})\n`);
}
