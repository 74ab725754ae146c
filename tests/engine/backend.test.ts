/**
 * Backend selection: the automatic order and its reasons, forcing by option and by MMCTR_BACKEND, a forced backend
 * that cannot start, and the two ways an optional tfjs-node package can be unavailable (not installed; installed
 * but failing to load), the latter with real packages written to a temporary node_modules.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  BACKEND_CANDIDATES,
  BACKEND_ENV_VAR,
  isPackageMissing,
  selectBackend,
  type SelectBackendOptions,
} from '../../src/engine/backend';
import { nativeCallCounts, nativeStatus } from '../../src/engine/native';
import { buildProgram } from '../../src/cli/main';
import { MmctrError } from '../../src/errors';

/**
 * The candidates without `native`, so the fallback to plain wasm is tested whether or not the addon is built, and
 * without `webgpu`, whose reason depends on the machine's Vulkan (tested in webgpu*.test.ts).
 */
const withoutNative = BACKEND_CANDIDATES.filter((c) => c.name !== 'native' && c.name !== 'webgpu');
const quiet: SelectBackendOptions = { quiet: true, env: {}, candidates: withoutNative };
const native = nativeStatus();

/** A node_modules in a temporary folder, with fake packages; `load` requires from there. */
const root = mkdtempSync(path.join(os.tmpdir(), 'mmctr-backend-'));
function fakePackage(name: string, indexJs: string): void {
  const dir = path.join(root, 'node_modules', ...name.split('/'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '0.0.0', main: 'index.js' }));
  writeFileSync(path.join(dir, 'index.js'), indexJs);
}
const requireFromRoot = createRequire(path.join(root, 'index.js'));
const load = async (s: string): Promise<unknown> => requireFromRoot(s);

afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
});

describe('selectBackend', () => {
  it('falls back to wasm here and says why, in one line', async () => {
    const lines: string[] = [];
    const info = await selectBackend({ env: {}, log: (l) => lines.push(l), candidates: withoutNative });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.device).toBe('SIMD on, 1 thread');
    expect(lines).toEqual(['backend: wasm (SIMD on, 1 thread) — tfjs-node-gpu not installed; tfjs-node not installed']);
    expect(info.tried.map((t) => [t.name, t.status])).toEqual([
      ['tensorflow-gpu', 'unavailable'],
      ['tensorflow', 'unavailable'],
      ['wasm', 'selected'],
      ['cpu', 'skipped'],
    ]);
    expect(info.kernels).toContain('wasm/UnsortedSegmentSum');
    expect(info.forcedBy).toBeUndefined();
  });

  it('quiet prints nothing', async () => {
    const lines: string[] = [];
    await selectBackend({ ...quiet, log: (l) => lines.push(l) });
    expect(lines).toEqual([]);
  });

  it('MMCTR_BACKEND forces a backend, and the option beats it', async () => {
    const fromEnv = await selectBackend({ quiet: true, env: { [BACKEND_ENV_VAR]: 'cpu' } });
    expect(fromEnv.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(fromEnv.forcedBy).toBe(BACKEND_ENV_VAR);
    expect(fromEnv.line).toBe('backend: cpu (JS, 1 thread) — forced by MMCTR_BACKEND');
    const fromOption = await selectBackend({ quiet: true, env: { [BACKEND_ENV_VAR]: 'cpu' }, force: 'wasm' });
    expect(fromOption.name).toBe('wasm');
    expect(fromOption.forcedBy).toBe('option');
  });

  it('an unknown MMCTR_BACKEND value is a clear error', async () => {
    await expect(selectBackend({ quiet: true, env: { [BACKEND_ENV_VAR]: 'gpu' } })).rejects.toThrow(
      /MMCTR_BACKEND: unknown backend 'gpu'; expected one of tensorflow-gpu, webgpu, tensorflow, native, wasm, cpu/,
    );
  });

  it('forcing a backend that is not installed fails and names why', async () => {
    const err = await selectBackend({ ...quiet, force: 'tensorflow-gpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmctrError);
    expect((err as Error).message).toBe(
      "backend 'tensorflow-gpu' was forced (by option) but cannot start: tfjs-node-gpu not installed",
    );
    const viaEnv = selectBackend({ quiet: true, env: { [BACKEND_ENV_VAR]: 'tensorflow' } });
    await expect(viaEnv).rejects.toThrow(/forced \(by MMCTR_BACKEND\) but cannot start: tfjs-node not installed/);
  });

  it('a package that is installed but cannot load its native library is reported as such', async () => {
    fakePackage(
      '@tensorflow/tfjs-node-gpu',
      "throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');",
    );
    fakePackage('@tensorflow/tfjs-node', "require('./lib/napi-v8/tfjs_binding.node');");
    const info = await selectBackend({ ...quiet, importModule: load });
    expect(info.name).toBe('wasm');
    expect(info.tried[0].reason).toBe(
      'tfjs-node-gpu installed but failed to load: libcudart.so.11.0: cannot open shared object file: No such file or directory',
    );
    expect(info.tried[1].reason).toMatch(/^tfjs-node installed but failed to load: Cannot find module '\.\/lib\/napi-v8\/tfjs_binding\.node'/);
    await expect(selectBackend({ ...quiet, importModule: load, force: 'tensorflow-gpu' })).rejects.toThrow(
      /forced \(by option\) but cannot start: tfjs-node-gpu installed but failed to load: libcudart/,
    );
  });

  it('a package that loads but registers no backend is reported', async () => {
    fakePackage('@tensorflow/tfjs-node-gpu', 'module.exports = {};');
    const info = await selectBackend({ ...quiet, importModule: load, candidates: withoutNative.slice(0, 1).concat(withoutNative.slice(2)) });
    expect(info.tried[0].reason).toMatch(/tfjs-node-gpu loaded but registered no 'tensorflow' backend/);
    expect(info.name).toBe('wasm');
  });

  it.skipIf(!native.available)('native (wasm + the OpenBLAS addon) comes before plain wasm when the addon is built', async () => {
    const bigMatMul = () => tf.tidy(() => tf.matMul(tf.ones([256, 256]), tf.ones([256, 256])).dataSync());
    const info = await selectBackend({ quiet: true, env: {} });
    expect(info.name).toBe('native');
    expect(info.tfjsName).toBe('wasm');
    expect(info.device).toMatch(/^wasm \+ OpenBLAS \(.+, \d+ threads?\)$/);
    nativeCallCounts(true);
    bigMatMul();
    expect(nativeCallCounts(true).native.BatchMatMul ?? 0).toBeGreaterThan(0);
    // Forcing plain wasm afterwards takes the native kernels back out.
    const plain = await selectBackend({ quiet: true, env: {}, force: 'wasm' });
    expect(plain.name).toBe('wasm');
    bigMatMul();
    expect(nativeCallCounts(true).native.BatchMatMul ?? 0).toBe(0);
  });

  it('a working tfjs-node-gpu is chosen first and reports its device', async () => {
    const importModule = async (s: string) => {
      if (s !== '@tensorflow/tfjs-node-gpu') return load(s);
      // What the real package does on import: register the 'tensorflow' backend and its kernels.
      tf.registerBackend('tensorflow', () => Object.assign(new tf.MathBackendCPU(), { isUsingGpuDevice: true }));
      tf.copyRegisteredKernels('cpu', 'tensorflow');
      return {};
    };
    const info = await selectBackend({ ...quiet, importModule });
    expect(info.name).toBe('tensorflow-gpu');
    expect(info.tfjsName).toBe('tensorflow');
    expect(tf.getBackend()).toBe('tensorflow');
    expect(info.line).toBe('backend: tensorflow-gpu (GPU (CUDA))');
    expect(info.tried.slice(1).every((t) => t.status === 'skipped')).toBe(true);
    await tf.setBackend('wasm');
  });

  it('tells a missing package from a missing file inside it', () => {
    const pkg = '@tensorflow/tfjs-node-gpu';
    const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
    expect(isPackageMissing(err(`Cannot find package '${pkg}' imported from /a/b.ts`, 'ERR_MODULE_NOT_FOUND'), pkg)).toBe(true);
    expect(isPackageMissing(err(`Cannot find module '${pkg}'\nRequire stack:\n- /a/b.js`, 'MODULE_NOT_FOUND'), pkg)).toBe(true);
    expect(isPackageMissing(err(`Failed to load url ${pkg} (resolved id: ${pkg}). Does the file exist?`), pkg)).toBe(true);
    expect(isPackageMissing(err(`Cannot find module '/n/${pkg}/lib/napi-v8/tfjs_binding.node'`, 'MODULE_NOT_FOUND'), pkg)).toBe(false);
    expect(isPackageMissing(err("Cannot find module '@tensorflow/tfjs-node-gpu'"), '@tensorflow/tfjs-node')).toBe(false);
    expect(isPackageMissing(err('libtensorflow.so.2: cannot open shared object file'), pkg)).toBe(false);
  });
});

describe('mmctr backend', () => {
  async function run(args: string[]): Promise<{ out: string; error?: unknown }> {
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      out += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      await buildProgram().parseAsync(args, { from: 'user' });
      return { out };
    } catch (error) {
      return { out, error };
    } finally {
      process.stdout.write = write;
    }
  }

  it('prints the choice and every candidate with its reason', async () => {
    const saved = process.env[BACKEND_ENV_VAR];
    delete process.env[BACKEND_ENV_VAR];
    const { out, error } = await run(['backend', '--kernels']);
    if (saved !== undefined) process.env[BACKEND_ENV_VAR] = saved;
    expect(error).toBeUndefined();
    const first = native.available ? /backend: native \(wasm \+ OpenBLAS/ : /backend: wasm \(SIMD on, 1 thread\)/;
    expect(out).toMatch(first);
    expect(out).toMatch(/— tfjs-node-gpu not installed; webgpu: no GPU \([^)]*\); tfjs-node not installed/);
    expect(out).toMatch(/- webgpu +unavailable +webgpu: no GPU/);
    expect(out).toMatch(/- tensorflow-gpu +unavailable +tfjs-node-gpu not installed/);
    expect(out).toMatch(native.available ? /\* native +selected/ : /\* wasm +selected/);
    expect(out).toMatch(/ {4}cpu +skipped/);
    expect(out).toContain('wasm/UnsortedSegmentSum');
  });

  it('--force picks a backend; an unknown or unavailable one is an MmctrError', async () => {
    expect((await run(['backend', '--force', 'cpu'])).out).toContain('backend: cpu (JS, 1 thread) — forced by --force');
    expect((await run(['backend', '--force', 'tpu'])).error).toBeInstanceOf(MmctrError);
    const { error } = await run(['backend', '--force', 'tensorflow']);
    expect((error as Error).message).toMatch(/forced \(by --force\) but cannot start: tfjs-node not installed/);
    await tf.setBackend('wasm');
  });
});
