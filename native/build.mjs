#!/usr/bin/env node
// Builds the native kernels addon: native/build/mmctr_native.node (src/engine/native.ts loads it).
//
//   node native/build.mjs            build when missing or out of date (fast no-op otherwise)
//   node native/build.mjs --force    rebuild
//   node native/build.mjs --strict   exit 1 (not 0) when the compiler, Node's headers or OpenBLAS are missing
//
// One C++ file, compiled straight with the system compiler (no node-gyp, no Python): plain N-API needs only
// Node's headers, and OpenBLAS is found through pkg-config (Debian: `apt-get install libopenblas-dev`, the pthreads
// variant). The library directory is baked in as an rpath, so the addon keeps the variant it was built against
// even if Debian's alternatives switch libopenblas.so.0 later. Compiled for the building CPU (-march=native): the
// stamp records the CPU model, so a build copied to another machine kind is rebuilt, not run.
// Without the prerequisites the project still works (tfjs kernels only): this prints why and exits 0.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.join(here, 'src', 'mmctr_native.cc');
const outDir = path.join(here, 'build');
const output = path.join(outDir, 'mmctr_native.node');
const stampFile = path.join(outDir, 'stamp.json');
const argv = new Set(process.argv.slice(2));
const force = argv.has('--force');
const strict = argv.has('--strict');

const log = (msg) => process.stderr.write(`[native] ${msg}\n`);

function missing(what, hint) {
  log(`NOT built: ${what}. ${hint}`);
  log('mmctr still works without it (tfjs kernels only); the native backend reports itself unavailable.');
  process.exit(strict ? 1 : 0);
}

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function tryRun(cmd, args) {
  try {
    return run(cmd, args);
  } catch {
    return undefined;
  }
}

// 1. Compiler.
const cxx = process.env.CXX || ['g++', 'c++', 'clang++'].find((c) => tryRun(c, ['--version']) !== undefined);
if (!cxx) missing('no C++ compiler (g++)', 'Install one: apt-get install g++.');
const cxxVersion = tryRun(cxx, ['--version'])?.split('\n')[0];
if (!cxxVersion) missing(`the compiler ${cxx} does not run`, 'Check $CXX.');

// 2. Node's headers (node_api.h): next to the running node, npm's nodedir, or Debian's /usr/include/node.
const headerDirs = [
  path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
  process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].filter(Boolean);
const nodeInclude = headerDirs.find((d) => existsSync(path.join(d, 'node_api.h')));
if (!nodeInclude) missing(`no node_api.h (looked in ${headerDirs.join(', ')})`, 'Install Node with its headers.');

// 3. OpenBLAS through pkg-config, else Debian's pthreads layout.
const DEBIAN_INC = '/usr/include/x86_64-linux-gnu/openblas-pthread';
const DEBIAN_LIB = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
let blasFlags = tryRun('pkg-config', ['--cflags', '--libs', 'openblas']);
if (!blasFlags && existsSync(path.join(DEBIAN_INC, 'cblas.h')) && existsSync(path.join(DEBIAN_LIB, 'libopenblas.so'))) {
  blasFlags = `-I${DEBIAN_INC} -L${DEBIAN_LIB} -lopenblas`;
}
if (!blasFlags) missing('OpenBLAS not found (pkg-config openblas)', 'Install it: apt-get install libopenblas-dev.');
const blasArgs = blasFlags.split(/\s+/).filter(Boolean);
const blasLibDirs = blasArgs.filter((a) => a.startsWith('-L')).map((a) => a.slice(2));
const blasIncDirs = blasArgs.filter((a) => a.startsWith('-I')).map((a) => a.slice(2));
if (!blasIncDirs.concat(['/usr/include']).some((d) => existsSync(path.join(d, 'cblas.h')))) {
  missing('OpenBLAS has no cblas.h', 'Install the development package: apt-get install libopenblas-dev.');
}

const cflags = [
  '-O3',
  '-march=native',
  '-std=c++17',
  // a·b + c rounds as two operations, as in JS: the Adam kernel reproduces src/train/adam.ts bit for bit.
  '-ffp-contract=off',
  // sqrt needs no errno: it vectorises (still IEEE, correctly rounded); halves the Adam update's time.
  '-fno-math-errno',
  '-fPIC',
  '-shared',
  '-pthread',
  '-fvisibility=hidden',
  '-Wall',
  '-Wextra',
  '-Wno-unused-parameter',
  '-DNAPI_VERSION=8',
  '-DNODE_GYP_MODULE_NAME=mmctr_native',
  `-I${nodeInclude}`,
  ...blasArgs.filter((a) => !a.startsWith('-L') && !a.startsWith('-l')),
];
const ldflags = [
  ...blasArgs.filter((a) => a.startsWith('-L') || a.startsWith('-l')),
  ...blasLibDirs.map((d) => `-Wl,-rpath,${d}`),
];
const stamp = {
  source: createHash('sha256').update(readFileSync(source)).digest('hex'),
  cflags,
  ldflags,
  compiler: cxxVersion,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  napi: process.versions.napi,
  platform: `${process.platform}-${process.arch}`,
};
const stampText = JSON.stringify(stamp, null, 2);
if (!force && existsSync(output) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stampText) {
  log(`up to date: ${path.relative(process.cwd(), output)}`);
  process.exit(0);
}

mkdirSync(outDir, { recursive: true });
const tmp = `${output}.tmp`;
log(`compiling with ${cxxVersion} (OpenBLAS: ${blasFlags})`);
const t0 = Date.now();
try {
  execFileSync(cxx, [...cflags, source, '-o', tmp, ...ldflags], { stdio: 'inherit' });
} catch {
  log('compilation FAILED (see the compiler output above)');
  process.exit(1);
}
renameSync(tmp, output);
writeFileSync(stampFile, stampText);

// Load it once in a child process: a missing shared library shows here, not in the first training run.
try {
  const info = run(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(output)}).info()))`]);
  log(`built ${path.relative(process.cwd(), output)} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${info}`);
} catch (e) {
  log(`built, but loading failed: ${e.stderr || e.message}`);
  process.exit(1);
}
