#!/usr/bin/env node
/**
 * Packs the GPU benchmark for the lent GPU machine (no Node.js, no registry there): bundles bench/gpu/train.ts and
 * bench/gpu/report.ts with esbuild into one ESM file each, copies this node binary and the native pieces a bundle
 * cannot hold (Dawn's `dawn.node` for linux-x64, the tfjs wasm binaries), compresses them (tar + xz) and adds the
 * Vulkan loader packages, all into a git-ignored folder that the device tool carries:
 *
 *   .cache/gpubundle/runtime.tar.xz   node (stripped), dist/linux-x64/dawn.node (stripped), wasm/*.wasm
 *                                     (reused while its inputs are unchanged: compressing node takes minutes here)
 *   .cache/gpubundle/app.tar.xz       train.mjs, report.mjs, manifest.json, sources.txt + sources.sha256 (the
 *                                     project files bundled and their digest); rebuilt every time
 *   .cache/gpubundle/debs/*.deb       libvulkan1 & co. from Debian (the device README's recipe), for a machine
 *                                     whose `ldconfig -p` has no libvulkan.so.1
 *
 * Both tarballs unpack into one folder; `./node train.mjs` there needs nothing of the repo (`dawn.node` is found
 * beside the bundle as the `webgpu` package looks for it, the wasm binaries through `--wasm-dir`/wasm/).
 * bench/gpu/run.sh unpacks and runs it. Prints every size and the total, and fails above 60 MiB.
 *
 *   npm run bench:gpu:pack                 (node bench/gpu/pack.mjs)
 *   flags: --out DIR (default .cache/gpubundle)  --no-debs (skip the Vulkan packages)  --force (re-make runtime)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

/** The limit the issue sets on the compressed bundle. */
const MAX_BYTES = 60 * 2 ** 20;
/** What one device call may carry, working tree included. */
const DEVICE_TREE_BYTES = 64 * 2 ** 20;
/** Vulkan loader and the GL dispatch libraries the NVIDIA driver's ICD library links (device README). */
const DEBS = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];

const outDir = path.resolve(root, value('--out') ?? path.join('.cache', 'gpubundle'));
const stage = path.join(outDir, 'stage');
const log = (s) => process.stderr.write(`[pack] ${s}\n`);
const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
  return r.stdout;
}

/** tar + xz of a folder's contents (paths relative to it). */
function tarXz(dir, file) {
  rmSync(file, { force: true });
  run('bash', ['-c', 'set -o pipefail; tar -C "$1" --owner=0 --group=0 -cf - . | xz -T0 -6 > "$2"', 'tarxz', dir, file]);
  return statSync(file).size;
}

/** Copies `src` to `dst`, stripped of symbols when `strip` is there (the dynamic symbols addons link to stay). */
function copyStripped(src, dst) {
  mkdirSync(path.dirname(dst), { recursive: true });
  const r = spawnSync('strip', ['-o', dst, src], { stdio: 'ignore' });
  if (r.status !== 0) copyFileSync(src, dst);
  return r.status === 0;
}

// --- the app: esbuild bundles -------------------------------------------------------------------------------------
async function buildApp() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new Error(`esbuild not found (it comes with tsx in node_modules): ${e.message}`);
  }
  const appDir = path.join(stage, 'app');
  rmSync(appDir, { recursive: true, force: true });
  mkdirSync(appDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { train: path.join(root, 'bench/gpu/train.ts'), report: path.join(root, 'bench/gpu/report.ts') },
    outdir: appDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    absWorkingDir: root,
    logLevel: 'warning',
    // CommonJS packages bundled into ESM call `require` for Node's built-ins and read `__dirname` (the wasm
    // backend's Emscripten loader): give them Node's, for the bundle's own file. esbuild renames bundled modules'
    // top-level bindings of these names (unbound names elsewhere are reserved), so nothing is shadowed.
    banner: {
      js: [
        "import { createRequire as __mmctrCreateRequire } from 'node:module';",
        "import { fileURLToPath as __mmctrFileURLToPath } from 'node:url';",
        "import { dirname as __mmctrDirname } from 'node:path';",
        'const require = __mmctrCreateRequire(import.meta.url);',
        'const __filename = __mmctrFileURLToPath(import.meta.url);',
        'const __dirname = __mmctrDirname(__filename);',
      ].join(' '),
    },
    // Never present here, never wanted in the bundle (backend.ts reports them missing).
    external: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
  });
  const packages = new Map();
  for (const [input, info] of Object.entries(result.metafile.inputs)) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    const key = m ? m[1] : input.startsWith('src/') ? 'src/' : input.startsWith('bench/') ? 'bench/' : input;
    packages.set(key, (packages.get(key) ?? 0) + info.bytes);
  }
  const forbidden = [...packages.keys()].filter((p) => /nodejs-polars|tslab|playwright|plotly/.test(p));
  if (forbidden.length) throw new Error(`the bundle pulled in ${forbidden.join(', ')}: an import chain from bench/gpu/train.ts reaches them`);
  const top = [...packages].sort((a, b) => b[1] - a[1]).slice(0, 8);
  log(`bundled sources: ${top.map(([k, v]) => `${k} ${(v / 1024).toFixed(0)} KiB`).join(', ')}`);
  for (const f of readdirSync(appDir)) log(`  ${f}: ${mib(statSync(path.join(appDir, f)).size)}`);
  // The project files bundled and their digest, as `sha256sum <files> | sha256sum` computes it: run.sh compares
  // it with the tree it runs from and warns when the bundle is stale.
  const sources = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/')).sort();
  const listing = sources.map((f) => `${createHash('sha256').update(readFileSync(path.join(root, f))).digest('hex')}  ${f}\n`).join('');
  writeFileSync(path.join(appDir, 'sources.txt'), sources.join('\n') + '\n');
  writeFileSync(path.join(appDir, 'sources.sha256'), `${createHash('sha256').update(listing).digest('hex')}\n`);
  return appDir;
}

// --- the runtime: node, dawn.node, wasm ---------------------------------------------------------------------------
function runtimeInputs() {
  const dawn = path.join(root, 'node_modules/webgpu/dist/linux-x64/dawn.node');
  const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const wasm = readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')).map((f) => path.join(wasmDir, f));
  for (const f of [dawn, ...wasm]) if (!existsSync(f)) throw new Error(`missing ${f} (npm ci?)`);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`this node is ${process.platform}-${process.arch}; the GPU machine is linux-x64: pack on linux-x64`);
  }
  return { node: process.execPath, dawn, wasm };
}

function buildRuntime(inputs) {
  const file = path.join(outDir, 'runtime.tar.xz');
  const keyFile = path.join(outDir, 'runtime.key.json');
  const stamp = (f) => ({ file: path.relative(root, f) || f, size: statSync(f).size, mtime: statSync(f).mtimeMs });
  const key = JSON.stringify({ node: process.version, files: [inputs.node, inputs.dawn, ...inputs.wasm].map(stamp) });
  if (!flag('--force') && existsSync(file) && existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key) {
    log(`runtime.tar.xz unchanged (${mib(statSync(file).size)}), reused (--force re-makes it)`);
    return;
  }
  const dir = path.join(stage, 'runtime');
  rmSync(dir, { recursive: true, force: true });
  const strippedNode = copyStripped(inputs.node, path.join(dir, 'node'));
  const strippedDawn = copyStripped(inputs.dawn, path.join(dir, 'dist', 'linux-x64', 'dawn.node'));
  mkdirSync(path.join(dir, 'wasm'), { recursive: true });
  for (const w of inputs.wasm) copyFileSync(w, path.join(dir, 'wasm', path.basename(w)));
  log(`node ${process.version} (${strippedNode ? 'stripped' : 'as is'}), dawn.node (${strippedDawn ? 'stripped' : 'as is'}), ${inputs.wasm.length} wasm binaries; compressing (xz, a few minutes)…`);
  const t0 = Date.now();
  const size = tarXz(dir, file);
  writeFileSync(keyFile, key);
  log(`runtime.tar.xz: ${mib(size)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

// --- Vulkan loader packages ---------------------------------------------------------------------------------------
function collectDebs() {
  const debDir = path.join(outDir, 'debs');
  if (flag('--no-debs')) {
    rmSync(debDir, { recursive: true, force: true });
    log('no Vulkan packages (--no-debs): run.sh then needs libvulkan.so.1 on the machine');
    return;
  }
  const have = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.deb')) : []);
  // The device README's `.gl/` folder (git-ignored) is the cache; fill it when empty.
  const glDir = path.join(root, '.gl');
  if (!DEBS.every((d) => have(glDir).some((f) => f.startsWith(`${d}_`)))) {
    log(`downloading ${DEBS.join(' ')} into .gl/ (amd64, private apt lists in /tmp/amd64)`);
    mkdirSync(glDir, { recursive: true });
    mkdirSync('/tmp/amd64/partial', { recursive: true });
    const o = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', '-oDir::State::Lists=/tmp/amd64'];
    try {
      run('apt-get', [...o, '-qq', 'update']);
      run('apt-get', [...o, '-qq', 'download', ...DEBS], { cwd: glDir });
    } catch (e) {
      log(`warning: could not download the Vulkan packages (${e.message.split('\n')[0]}); the bundle goes without them`);
    }
  }
  rmSync(debDir, { recursive: true, force: true });
  const debs = have(glDir).filter((f) => DEBS.some((d) => f.startsWith(`${d}_`)));
  if (debs.length === 0) return;
  mkdirSync(debDir, { recursive: true });
  for (const f of debs) copyFileSync(path.join(glDir, f), path.join(debDir, f));
  log(`debs/: ${debs.join(' ')}`);
}

function folderBytes(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += folderBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

/** What the device tool sends besides the carried paths: tracked + untracked-not-ignored files. */
function workingTreeBytes() {
  try {
    const files = run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, maxBuffer: 1 << 26 }).split('\0').filter(Boolean);
    return files.reduce((s, f) => {
      try {
        return s + statSync(path.join(root, f)).size;
      } catch {
        return s;
      }
    }, 0);
  } catch {
    return undefined;
  }
}

async function main() {
  mkdirSync(stage, { recursive: true });
  const inputs = runtimeInputs();
  const appDir = await buildApp();
  writeFileSync(
    path.join(appDir, 'manifest.json'),
    JSON.stringify({ packedAt: new Date().toISOString(), node: process.version, entries: ['train.mjs', 'report.mjs'] }, null, 2) + '\n',
  );
  const appSize = tarXz(appDir, path.join(outDir, 'app.tar.xz'));
  log(`app.tar.xz: ${mib(appSize)}`);
  buildRuntime(inputs);
  collectDebs();
  // The stage folder is scratch: it must not travel.
  rmSync(stage, { recursive: true, force: true });
  const total = folderBytes(outDir);
  const tree = workingTreeBytes();
  log(`bundle ${path.relative(root, outDir)}: ${mib(total)} (limit ${mib(MAX_BYTES)})`);
  if (tree !== undefined) {
    const sum = tree + total;
    log(`device call: working tree ${mib(tree)} + bundle = ${mib(sum)} of ${mib(DEVICE_TREE_BYTES)}${sum > DEVICE_TREE_BYTES ? ' — TOO LARGE: ignore or remove untracked files' : ''}`);
  }
  process.stdout.write(`${JSON.stringify({ bundle: path.relative(root, outDir), bytes: total, mib: Number((total / 2 ** 20).toFixed(2)), workingTreeBytes: tree })}\n`);
  if (total > MAX_BYTES) {
    log(`error: the bundle is over ${mib(MAX_BYTES)}`);
    process.exit(1);
  }
}

main().catch((e) => {
  log(`error: ${e.message}`);
  process.exit(1);
});
