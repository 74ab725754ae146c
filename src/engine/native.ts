/**
 * The native CPU path: loads the OpenBLAS addon built by `node native/build.mjs` (native/build/mmctr_native.node)
 * and registers its kernels into a tfjs CPU backend with `tf.registerKernel`.
 *
 * Why: tfjs `wasm` is one thread and its matrix products reach 20–28 GFLOP/s (≈2 with transpose flags); the JS
 * `cpu` backend ≈0.8. The addon runs matrix products through OpenBLAS on every core (≈100–250 GFLOP/s on the
 * project's 2-core machine), and gathers, scatter-adds, large element-wise ops, sums and copies on every core.
 *
 * Hosts: the kernels read and write the host backend's own memory, with no copies: the `wasm` heap (views of the
 * module's memory) or the JS `cpu` backend's typed arrays. `wasm` is the better host, because what stays in tfjs
 * runs as SIMD wasm rather than JS: a DIN step at the challenge baseline's shapes (batch 1024) ran 846 samples/s
 * hosted on `wasm` against 181 on `cpu` (plain `wasm` 94, plain `cpu` 3; bench/results/native.md). Kernels not
 * worth running natively (small tensors, dtypes or layouts the addon does not handle) fall back to the kernel
 * that was registered before.
 *
 * Also natively: the project's hashed-mask dropout (`MmctrDropout`, the same masks as its JS kernel) and, outside
 * the kernel registry, the two passes of the trainer's Adam (`nativeAdamOps`, used by src/train/adam.ts).
 *
 * Without a built addon nothing changes: `nativeStatus()` says why, `registerNativeKernels` returns `[]`.
 */
import * as tf from '@tensorflow/tfjs';
// Registers the wasm kernels first, so the native ones land on top of them (and keep their setup functions).
import '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MmctrError } from '../errors';
import {
  DEFAULT_MIN_NATIVE_SIZE,
  RELU_GRAD_KERNEL,
  callCounts,
  makeAdamOps,
  makeNativeKernels,
  type NativeAdamOps,
  type HostKind,
  type NativeAddon,
  type NativeCallCounts,
} from './nativeKernels';

export type { AdamUpdateArgs, HostKind, NativeAdamOps, NativeAddon, NativeCallCounts } from './nativeKernels';

/** Where the addon is looked for, first match wins. */
const ADDON_RELATIVE = path.join('native', 'build', 'mmctr_native.node');

export interface NativeStatus {
  available: boolean;
  /** The loaded file, when available. */
  path?: string;
  /** Why it is not available: not built, or failed to load (with the loader's message). */
  reason?: string;
  /** Threads and the OpenBLAS build (`OpenBLAS 0.3.21 … SkylakeX`), when available. */
  info?: ReturnType<NativeAddon['info']>;
}

let cached: { addon?: NativeAddon; status: NativeStatus } | undefined;

/**
 * This module's folder, from the stack (absolute in ESM under tsx and in CommonJS; `import.meta` is off-limits in
 * src/), else `__dirname` when it is absolute (`node -e` defines a global `__dirname` of '.').
 */
function moduleDir(): string | undefined {
  const frame = new Error().stack?.split('\n').find((l) => /[\\/]native\.[cm]?[tj]s\b/.test(l));
  const m = frame?.match(/(?:file:\/\/)?(\/[^:()]*[\\/]native\.[cm]?[tj]s)/);
  if (m) return path.dirname(m[1]);
  if (typeof __dirname === 'string' && path.isAbsolute(__dirname)) return __dirname;
  return undefined;
}

function candidates(): string[] {
  if (process.env.MMCTR_NATIVE_ADDON) return [path.resolve(process.env.MMCTR_NATIVE_ADDON)];
  const out: string[] = [];
  const dir = moduleDir();
  if (dir) out.push(path.resolve(dir, '..', '..', ADDON_RELATIVE));
  for (let d = process.cwd(); ; d = path.dirname(d)) {
    out.push(path.join(d, ADDON_RELATIVE));
    if (path.dirname(d) === d) break;
  }
  return out;
}

/**
 * Loads the addon once. `MMCTR_NATIVE=0` disables it (for comparisons); `MMCTR_NATIVE_THREADS=n` sets the thread
 * count (default: `os.availableParallelism()`); `MMCTR_NATIVE_ADDON` points at another build;
 * `OPENBLAS_THREAD_TIMEOUT` (default here 4, see below) is OpenBLAS's own.
 */
export function loadNative(): NativeAddon | undefined {
  if (cached) return cached.addon;
  if (process.env.MMCTR_NATIVE === '0') {
    cached = { status: { available: false, reason: 'disabled by MMCTR_NATIVE=0' } };
    return undefined;
  }
  const file = candidates().find((f) => existsSync(f));
  if (!file) {
    const where = process.env.MMCTR_NATIVE_ADDON ? `MMCTR_NATIVE_ADDON=${process.env.MMCTR_NATIVE_ADDON}` : ADDON_RELATIVE;
    cached = { status: { available: false, reason: `not built (run: node native/build.mjs); looked for ${where}` } };
    return undefined;
  }
  try {
    // OpenBLAS's idle workers spin ~2^28 cycles after each product before sleeping, taking a core from our own
    // threads and from other processes (measured: 25–30% slower steps on a busy 2-core machine). 2^4 makes them
    // sleep at once: a product takes milliseconds, waking a worker microseconds. Read when the library loads.
    process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
    const mod = { exports: {} as NativeAddon };
    process.dlopen(mod, file);
    const addon = mod.exports;
    // The addon starts with every online CPU; the cores this process may use can be fewer (affinity).
    const threads = Number(process.env.MMCTR_NATIVE_THREADS);
    addon.setNumThreads(Number.isInteger(threads) && threads > 0 ? threads : os.availableParallelism());
    cached = { addon, status: { available: true, path: file, info: addon.info() } };
  } catch (e) {
    cached = { status: { available: false, path: file, reason: `failed to load ${file}: ${(e as Error).message}` } };
  }
  return cached.addon;
}

export function nativeStatus(): NativeStatus {
  loadNative();
  return cached!.status;
}

/** Kernels replaced per backend, with what was registered before, so they can be put back. */
const replaced = new Map<string, Map<string, tf.KernelConfig | undefined>>();

/**
 * Backends (wasm-hosted) whose Relu gradient runs as one native pass. The gradient registry is global, so the
 * installed gradient checks the active backend and computes tfjs's own formula everywhere else.
 */
const reluGradBackends = new Set<string>();
let savedReluGrad: tf.GradConfig | undefined;
let reluGradInstalled = false;

const reluGradConfig: tf.GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const g = dy as tf.Tensor;
    return {
      x: () =>
        reluGradBackends.has(tf.getBackend()) && x.dtype === 'float32' && g.dtype === 'float32'
          ? (tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: g, x }) as tf.Tensor)
          : tf.mul(g, tf.cast(tf.step(x), 'float32')),
    };
  },
};

function updateReluGrad(): void {
  if (reluGradBackends.size > 0 && !reluGradInstalled) {
    savedReluGrad = tf.getGradient('Relu');
    if (savedReluGrad) tf.unregisterGradient('Relu');
    tf.registerGradient(reluGradConfig);
    reluGradInstalled = true;
  } else if (reluGradBackends.size === 0 && reluGradInstalled) {
    tf.unregisterGradient('Relu');
    if (savedReluGrad) tf.registerGradient(savedReluGrad);
    reluGradInstalled = false;
  }
}

function hostOf(backendName: string): HostKind {
  if (backendName === 'cpu' || backendName === 'wasm') return backendName;
  const b = tf.findBackend(backendName) as unknown as Record<string, unknown> | null;
  if (b && typeof b.typedArrayFromHeap === 'function') return 'wasm';
  if (b && typeof b.makeTensorInfo === 'function' && 'data' in b) return 'cpu';
  throw new MmctrError(
    `registerNativeKernels: cannot tell whether backend '${backendName}' stores data like 'cpu' or like 'wasm'; pass the host`,
  );
}

export interface NativeKernelOptions {
  /** How the backend stores tensors. Default: `'cpu'`/`'wasm'` by name, else told from the started backend. */
  host?: HostKind;
  /**
   * Element-wise, reduction and copy kernels with fewer output elements than this keep the previous kernel (the
   * call costs more than it saves). Default 16,384. Matrix products and scatter-adds always run natively.
   */
  minSize?: number;
}

/**
 * Registers the native kernels for `backendName` (a `cpu`- or `wasm`-like backend) on top of the kernels registered
 * now; each falls back to the one it replaces where it does not apply. On a wasm host it also installs a Relu
 * gradient that runs dy·step(x) as one native pass while that backend is active (tfjs's formula elsewhere). Register the project's own kernels
 * (src/engine/kernels) first, and unregister in the reverse order. Returns the kernel names replaced; `[]` when the
 * addon is not available. Calling it again re-registers (with the new options).
 */
export function registerNativeKernels(backendName: string, options: NativeKernelOptions = {}): string[] {
  const addon = loadNative();
  if (!addon) return [];
  unregisterNativeKernels(backendName);
  const host = options.host ?? hostOf(backendName);
  const saved = new Map<string, tf.KernelConfig | undefined>();
  for (const k of makeNativeKernels(addon, host, options.minSize ?? DEFAULT_MIN_NATIVE_SIZE)) {
    const previous = tf.getKernel(k.kernelName, backendName);
    saved.set(k.kernelName, previous);
    if (previous) tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({
      kernelName: k.kernelName,
      backendName,
      // A wasm kernel binds its wasm functions in setupFunc when the backend starts: keep it for the fallback.
      setupFunc: previous?.setupFunc,
      disposeFunc: previous?.disposeFunc,
      kernelFunc: k.make(previous?.kernelFunc),
    });
  }
  replaced.set(backendName, saved);
  if (host === 'wasm') reluGradBackends.add(backendName);
  updateReluGrad();
  return [...saved.keys()];
}

/** Puts back the kernels `registerNativeKernels(backendName)` replaced. */
export function unregisterNativeKernels(backendName: string): void {
  const saved = replaced.get(backendName);
  if (!saved) return;
  for (const [name, previous] of saved) {
    tf.unregisterKernel(name, backendName);
    if (previous) tf.registerKernel(previous);
  }
  replaced.delete(backendName);
  reluGradBackends.delete(backendName);
  updateReluGrad();
}

/** Backends with native kernels registered now. */
export function nativeBackends(): string[] {
  return [...replaced.keys()];
}

/** Per kernel name: calls run natively and calls handed to the previous kernel, since the last reset. */
export function nativeCallCounts(reset = false): NativeCallCounts {
  const copy: NativeCallCounts = { native: { ...callCounts.native }, fallback: { ...callCounts.fallback } };
  if (reset) {
    callCounts.native = {};
    callCounts.fallback = {};
  }
  return copy;
}

/**
 * Adam's passes run natively on the active backend's tensors (src/train/adam.ts), or undefined when that backend
 * has no native kernels registered.
 */
export function nativeAdamOps(backendName = tf.getBackend()): NativeAdamOps | undefined {
  const addon = loadNative();
  if (!addon || !replaced.has(backendName)) return undefined;
  return makeAdamOps(addon, hostOf(backendName), tf.findBackend(backendName));
}
