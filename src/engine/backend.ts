/**
 * Picks the TensorFlow.js backend at start and installs the project's kernels.
 *
 * Order: libtensorflow with CUDA (`@tensorflow/tfjs-node-gpu`, optional: its install downloads libtensorflow, so it is
 * absent on most machines), WebGPU on a hardware adapter (`@tensorflow/tfjs-backend-webgpu` on Dawn, see webgpu.ts;
 * a software adapter such as lavapipe only when forced), libtensorflow on CPU (`@tensorflow/tfjs-node`, not
 * declared), `native`, `wasm` (`@tensorflow/tfjs-backend-wasm`: SIMD, one thread in Node), then the JS `cpu`
 * backend. `MMCTR_BACKEND` or the `force` option picks one; forcing one that cannot start is an error that says why.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { MmctrError } from '../errors';
import { installedProjectKernels, registerProjectKernels } from './kernels';
import { nativeStatus, registerNativeKernels, unregisterNativeKernels } from './native';
import { installedWebGpuKernels, registerWebGpuKernels } from './kernels/webgpu';
import {
  TFJS_WEBGPU_PACKAGE,
  WebGpuUnavailable,
  autoWebGpuSkipReason,
  describeAdapter,
  startWebGpu,
  webGpuAdapter,
  type WebGpuAdapter,
} from './webgpu';

/** The backends mmctr knows, in order of preference. */
export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'native' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'native', 'wasm', 'cpu'];

/** Environment variable that forces a backend. */
export const BACKEND_ENV_VAR = 'MMCTR_BACKEND';

/** Thrown by a candidate's `start` when it cannot run here; `message` is the reason shown to the user. */
export class BackendUnavailable extends MmctrError {}

/** What a candidate gets to start with. */
export interface StartContext {
  /** Loads an optional package (dynamic import; injectable for tests). */
  importModule: (specifier: string) => Promise<unknown>;
  /** Prefix or file map for the wasm binaries; see `SelectBackendOptions.wasmPaths`. */
  wasmPaths?: string;
  /** The backend being forced, if any (webgpu accepts a software adapter only then). */
  force?: BackendName;
  /** Environment (VK_* variables, MMCTR_MESA_DIR). */
  env: Record<string, string | undefined>;
}

export interface BackendCandidate {
  name: BackendName;
  /** The npm package that provides it. */
  packageName: string;
  /** The name the package registers with tfjs (`tf.getBackend()`). */
  tfjsName: string;
  /**
   * Loads the package, makes it tfjs's active backend and returns the device in words (e.g. `SIMD on, 1 thread`).
   * Throws `BackendUnavailable` with the reason when it cannot.
   */
  start(ctx: StartContext): Promise<string>;
}

/** One line of the fallback story. */
export interface CandidateReport {
  name: BackendName;
  /** `selected`: in use; `unavailable`: tried and failed (see reason); `skipped`: not tried (forced, or chosen before). */
  status: 'selected' | 'unavailable' | 'skipped';
  reason: string;
}

export interface BackendInfo {
  name: BackendName;
  /** tfjs's name of the active backend. */
  tfjsName: string;
  /** Device in words. */
  device: string;
  /** What forced it: `option` (`force`), `MMCTR_BACKEND`, or undefined when chosen automatically. */
  forcedBy?: string;
  /** Every candidate, in order, with what happened to it. */
  tried: CandidateReport[];
  /** The project's kernel overrides installed (`backend/Kernel`, `grad/Kernel`). */
  kernels: string[];
  /** The WebGPU adapter, when `webgpu` was selected. */
  adapter?: WebGpuAdapter;
  /** The printed line. */
  line: string;
}

export interface SelectBackendOptions {
  /** Use this backend or fail. Default: `MMCTR_BACKEND` if set, else the first that starts. */
  force?: BackendName;
  /** How `force` is named in messages (the CLI passes `--force`). Default `option`. */
  forceLabel?: string;
  /** Print nothing. Default false. */
  quiet?: boolean;
  /** Where the one-line summary goes. Default: standard error (standard output stays for data). */
  log?: (line: string) => void;
  /** Environment to read `MMCTR_BACKEND` from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Install the project's kernels (kernels/index.ts). Default true. */
  projectKernels?: boolean;
  /** Candidates in order of preference. Default `BACKEND_CANDIDATES`. */
  candidates?: readonly BackendCandidate[];
  /** Loader for optional packages. Default: dynamic `import()`. */
  importModule?: (specifier: string) => Promise<unknown>;
  /**
   * Folder (with trailing slash) holding the `.wasm` binaries. Default: none — in Node the loader finds them next
   * to its own script in node_modules/@tensorflow/tfjs-backend-wasm/dist/; set it when bundling.
   */
  wasmPaths?: string;
}

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

export function parseBackendName(value: string, source: string): BackendName {
  const v = value.trim();
  if (isBackendName(v)) return v;
  throw new MmctrError(`${source}: unknown backend '${value}'; expected one of ${BACKEND_NAMES.join(', ')}`);
}

function errorText(err: unknown): string {
  const e = err as { message?: unknown } | undefined;
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return msg.split('\n')[0].trim();
}

/**
 * True when `err` says that `pkg` itself cannot be found, as opposed to a file or library it needs (a missing
 * `tfjs_binding.node`, `libtensorflow.so.2`, `libcudart.so.11.0`): "not installed" vs "installed but failed to load".
 */
export function isPackageMissing(err: unknown, pkg: string): boolean {
  const msg = String((err as { message?: unknown })?.message ?? err);
  const code = (err as { code?: unknown })?.code;
  const codeOk = code === undefined || code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
  // The package name itself, not a path inside it (`pkg/lib/binding.node`).
  const escaped = pkg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const namesPkg = new RegExp(`${escaped}(?![\\w/.-])`).test(msg);
  return codeOk && namesPkg && /cannot find (module|package)|failed to (load|resolve)/i.test(msg);
}

/** Imports `pkg`, mapping failures to BackendUnavailable with the two reasons apart. */
async function loadPackage(ctx: StartContext, pkg: string): Promise<unknown> {
  try {
    return await ctx.importModule(pkg);
  } catch (err) {
    if (isPackageMissing(err, pkg)) throw new BackendUnavailable(`${shortName(pkg)} not installed`);
    throw new BackendUnavailable(`${shortName(pkg)} installed but failed to load: ${errorText(err)}`);
  }
}

function shortName(pkg: string): string {
  return pkg.replace('@tensorflow/', '');
}

/** Makes `tfjsName` the active backend, or says why it could not. */
async function activate(tfjsName: string, pkg: string): Promise<void> {
  if (tf.findBackendFactory(tfjsName) == null) {
    throw new BackendUnavailable(
      `${shortName(pkg)} loaded but registered no '${tfjsName}' backend with this @tensorflow/tfjs ` +
        '(a second copy of tfjs-core?)',
    );
  }
  let ok = false;
  const warn = console.warn;
  let detail = '';
  // tfjs reports a failed backend start through console.warn and a `false` result; keep the text for the reason.
  console.warn = (...args: unknown[]) => {
    detail = args.map((a) => errorText(a)).join(' ');
  };
  try {
    ok = await tf.setBackend(tfjsName);
  } catch (err) {
    detail = errorText(err);
  } finally {
    console.warn = warn;
  }
  if (!ok) throw new BackendUnavailable(`${shortName(pkg)} failed to start${detail ? `: ${detail}` : ''}`);
}

/** libtensorflow candidates: both packages register the tfjs backend 'tensorflow'. */
function tensorflowCandidate(name: 'tensorflow-gpu' | 'tensorflow', packageName: string): BackendCandidate {
  return {
    name,
    packageName,
    tfjsName: 'tensorflow',
    async start(ctx) {
      await loadPackage(ctx, packageName);
      await activate('tensorflow', packageName);
      const gpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice;
      if (name === 'tensorflow-gpu') return gpu ? 'GPU (CUDA)' : 'CPU (libtensorflow found no usable CUDA GPU)';
      return 'CPU (libtensorflow)';
    },
  };
}

/**
 * WebGPU through Dawn. Automatic selection takes a hardware adapter only and skips Dawn entirely where the machine
 * has no Vulkan loader or only software drivers; forced, any adapter (the project's lavapipe included).
 */
const webgpuCandidate: BackendCandidate = {
  name: 'webgpu',
  packageName: TFJS_WEBGPU_PACKAGE,
  tfjsName: 'webgpu',
  async start(ctx) {
    const forced = ctx.force === 'webgpu';
    const skip = forced ? undefined : autoWebGpuSkipReason(ctx.env);
    if (skip) throw new BackendUnavailable(`webgpu: ${skip}`);
    let adapter: WebGpuAdapter;
    try {
      adapter = await startWebGpu({ allowSoftware: forced, env: ctx.env, importModule: ctx.importModule });
    } catch (err) {
      if (err instanceof WebGpuUnavailable) throw new BackendUnavailable(`webgpu: ${err.message}`);
      throw err;
    }
    await activate('webgpu', TFJS_WEBGPU_PACKAGE);
    registerWebGpuKernels();
    return describeAdapter(adapter);
  },
};

/** The candidates, in order of preference. */
export const BACKEND_CANDIDATES: readonly BackendCandidate[] = [
  tensorflowCandidate('tensorflow-gpu', '@tensorflow/tfjs-node-gpu'),
  webgpuCandidate,
  tensorflowCandidate('tensorflow', '@tensorflow/tfjs-node'),
  {
    // The wasm backend with the project's OpenBLAS addon (native/) running matmuls, gathers, scatter-adds and large
    // element-wise ops on all cores; everything else stays SIMD wasm. Needs `node native/build.mjs` to have built it.
    name: 'native',
    packageName: 'native/build/mmctr_native.node',
    tfjsName: 'wasm',
    async start(ctx) {
      const s = nativeStatus();
      if (!s.available) throw new BackendUnavailable(`native kernels ${s.reason}`);
      if (ctx.wasmPaths) setWasmPaths(ctx.wasmPaths);
      await activate('wasm', '@tensorflow/tfjs-backend-wasm');
      // After the project kernels (selectBackend registers them first), so OpenBLAS gets the untransposed operands.
      registerNativeKernels('wasm');
      return `wasm + OpenBLAS (${s.info!.blasCore}, ${s.info!.threads} threads)`;
    },
  },
  {
    name: 'wasm',
    packageName: '@tensorflow/tfjs-backend-wasm',
    tfjsName: 'wasm',
    async start(ctx) {
      if (ctx.wasmPaths) setWasmPaths(ctx.wasmPaths);
      await activate('wasm', '@tensorflow/tfjs-backend-wasm');
      // Plain wasm when forced or when native is unavailable: take back native kernels a previous selection installed.
      unregisterNativeKernels('wasm');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = getThreadsCount();
      return `SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'}`;
    },
  },
  {
    name: 'cpu',
    packageName: '@tensorflow/tfjs-backend-cpu',
    tfjsName: 'cpu',
    async start() {
      await activate('cpu', '@tensorflow/tfjs-backend-cpu');
      // The cpu backend prints a banner suggesting tfjs-node on first use; our line already says what was tried.
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      return 'JS, 1 thread';
    },
  },
];

/** `backend: wasm (SIMD on, 1 thread) — tfjs-node-gpu not installed; tfjs-node not installed` */
export function formatBackendLine(
  name: BackendName,
  device: string,
  tried: CandidateReport[],
  forcedBy?: string,
): string {
  const others = tried.filter((t) => t.status === 'unavailable').map((t) => t.reason);
  const why = forcedBy ? [`forced by ${forcedBy}`, ...others] : others;
  return `backend: ${name} (${device})${why.length > 0 ? ` — ${why.join('; ')}` : ''}`;
}

/**
 * Selects and starts the backend (see the file comment), installs the project's kernels, prints one line unless
 * `quiet`, and returns what was chosen and why. Throws MmctrError when a forced backend cannot start, or none can.
 */
export async function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  const env = opts.env ?? process.env;
  const candidates = opts.candidates ?? BACKEND_CANDIDATES;
  const fromEnv = env[BACKEND_ENV_VAR];
  const envForce =
    fromEnv !== undefined && fromEnv.trim() !== '' ? parseBackendName(fromEnv, BACKEND_ENV_VAR) : undefined;
  const force = opts.force ?? envForce;
  const forcedBy = opts.force ? (opts.forceLabel ?? 'option') : envForce ? BACKEND_ENV_VAR : undefined;
  if (opts.projectKernels ?? true) registerProjectKernels();
  const ctx: StartContext = {
    importModule: opts.importModule ?? ((s: string) => import(s)),
    wasmPaths: opts.wasmPaths,
    force,
    env,
  };
  const tried: CandidateReport[] = candidates.map((c) => ({ name: c.name, status: 'skipped', reason: '' }));
  let chosen: { candidate: BackendCandidate; device: string } | undefined;
  for (const [i, candidate] of candidates.entries()) {
    if (chosen || (force && candidate.name !== force)) {
      const why = chosen ? `${chosen.candidate.name} chosen` : `forced ${force}`;
      tried[i].reason = `${candidate.name} not tried (${why})`;
      continue;
    }
    try {
      const device = await candidate.start(ctx);
      chosen = { candidate, device };
      tried[i] = { name: candidate.name, status: 'selected', reason: `${candidate.name}: ${device}` };
    } catch (err) {
      if (!(err instanceof BackendUnavailable)) throw err;
      tried[i] = { name: candidate.name, status: 'unavailable', reason: err.message };
      if (force) {
        throw new MmctrError(`backend '${force}' was forced (by ${forcedBy}) but cannot start: ${err.message}`, {
          cause: err,
        });
      }
    }
  }
  if (!chosen) {
    if (force) throw new MmctrError(`backend '${force}' was forced but is not a candidate here`);
    throw new MmctrError(`no TensorFlow.js backend could start: ${tried.map((t) => t.reason).join('; ')}`);
  }
  const line = formatBackendLine(chosen.candidate.name, chosen.device, tried, forcedBy);
  if (!opts.quiet) (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  return {
    name: chosen.candidate.name,
    tfjsName: chosen.candidate.tfjsName,
    device: chosen.device,
    forcedBy,
    tried,
    kernels: [...installedProjectKernels(), ...installedWebGpuKernels()],
    adapter: chosen.candidate.name === 'webgpu' ? webGpuAdapter() : undefined,
    line,
  };
}
