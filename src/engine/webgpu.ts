/**
 * The `webgpu` backend: tfjs-backend-webgpu on Dawn for Node (npm `webgpu`, a prebuilt `dawn.node` on Vulkan).
 *
 * Where the Vulkan driver comes from:
 * - a GPU machine: the system's Vulkan loader (`libvulkan.so.1`) and its vendor driver (e.g. `nvidia_icd.json`);
 * - a CPU machine (CI): Mesa 25's software driver lavapipe, unpacked by environment/mesa.sh into `.gpu/mesa` (or
 *   `MMCTR_MESA_DIR`). Nothing is installed system-wide, so this module loads it in-process: it preloads the unpacked
 *   libraries by absolute path (`RTLD_NODELETE`, so the loader finds them by soname when Dawn asks for
 *   `libvulkan.so.1` and the driver for `libdrm.so.2`; LD_LIBRARY_PATH cannot be set after start) and adds the
 *   driver through `VK_ADD_DRIVER_FILES` (a GPU stays visible, unlike `VK_DRIVER_FILES`).
 *
 * A software adapter (llvmpipe/lavapipe, SwiftShader) is correct but far slower than `native`/`wasm` (a tiny DIN
 * step ≈ 100 ms): automatic selection takes only a hardware adapter, and does not even load Dawn when the machine
 * has no Vulkan loader or only software drivers (a start-up cost of ~0.5 s and driver warnings otherwise).
 * `MMCTR_BACKEND=webgpu` takes whatever adapter there is, lavapipe included.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MmctrError } from '../errors';

/** The npm package that provides Dawn. */
export const DAWN_PACKAGE = 'webgpu';
/** The tfjs backend package. */
export const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';
/** Where environment/mesa.sh puts lavapipe, relative to the project root. */
export const MESA_RELATIVE = path.join('.gpu', 'mesa');
/** Overrides the lavapipe folder. */
export const MESA_DIR_ENV_VAR = 'MMCTR_MESA_DIR';

/**
 * Extra flags for Dawn's `create` (npm `webgpu`), space-separated, e.g.
 * `disable-dawn-features=timestamp_quantization` (the GPU bench's `--profile`: exact timestamps). Default none.
 */
export const DAWN_FLAGS_ENV_VAR = 'MMCTR_DAWN_FLAGS';

/** glibc's RTLD_NODELETE (not in `os.constants.dlopen`): the library stays loaded after node's failed module init. */
const RTLD_NODELETE = 0x1000;

/** Minimal structural types of the WebGPU API parts used here (the project compiles without the DOM lib). */
export interface GpuAdapterInfoLike {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}
export interface GpuDeviceLike {
  queue: unknown;
  /** Called with validation and out-of-memory errors no error scope caught. */
  onuncapturederror: ((event: { error: { message: string } }) => void) | null;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  destroy(): void;
}
export interface GpuAdapterLike {
  info: GpuAdapterInfoLike;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor?: Record<string, unknown>): Promise<GpuDeviceLike>;
}
export interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** The adapter, in words and flags. */
export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation of Vulkan (lavapipe/llvmpipe, SwiftShader). */
  software: boolean;
  /** The driver is the project's lavapipe (.gpu/mesa). */
  projectMesa: boolean;
}

/** The project's lavapipe as environment/mesa.sh left it. */
export interface ProjectMesa {
  dir: string;
  /** ICD file naming the driver by absolute path. */
  icd: string;
  /** Folder of the unpacked libraries. */
  libDir: string;
  /** Soname links to preload, from preload.txt. */
  preload: string[];
  /** `mesa-vulkan-drivers 25.0.7-2~bpo12+1, 5 packages, 2026-11-22` */
  stamp: string;
}

/** This module's folder (see native.ts: `import.meta` is off-limits in src/). */
function moduleDir(): string | undefined {
  const frame = new Error().stack?.split('\n').find((l) => /[\\/]webgpu\.[cm]?[tj]s\b/.test(l));
  const m = frame?.match(/(?:file:\/\/)?(\/[^:()]*[\\/]webgpu\.[cm]?[tj]s)/);
  if (m) return path.dirname(m[1]);
  if (typeof __dirname === 'string' && path.isAbsolute(__dirname)) return __dirname;
  return undefined;
}

function mesaCandidates(env: Record<string, string | undefined>): string[] {
  if (env[MESA_DIR_ENV_VAR]) return [path.resolve(env[MESA_DIR_ENV_VAR]!)];
  const out: string[] = [];
  const dir = moduleDir();
  if (dir) out.push(path.resolve(dir, '..', '..', MESA_RELATIVE));
  for (let d = process.cwd(); ; d = path.dirname(d)) {
    out.push(path.join(d, MESA_RELATIVE));
    if (path.dirname(d) === d) break;
  }
  return out;
}

/** The project's lavapipe, or undefined when environment/mesa.sh has not run (or `MMCTR_MESA_DIR` is wrong). */
export function findProjectMesa(env: Record<string, string | undefined> = process.env): ProjectMesa | undefined {
  for (const dir of mesaCandidates(env)) {
    const files = ['stamp', 'lvp_icd.json', 'libdir', 'preload.txt'].map((f) => path.join(dir, f));
    if (!files.every((f) => existsSync(f))) continue;
    const [stamp, icd, libDirFile, preloadFile] = files;
    const libDir = readFileSync(libDirFile, 'utf8').trim();
    if (!existsSync(libDir)) continue;
    const preload = readFileSync(preloadFile, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
    return { dir, icd, libDir, preload, stamp: readFileSync(stamp, 'utf8').trim() };
  }
  return undefined;
}

/** dlopen by path or soname, kept loaded; returns the loader's message on failure. */
function preload(file: string): string | undefined {
  try {
    process.dlopen({ exports: {} }, file, os.constants.dlopen.RTLD_NOW | RTLD_NODELETE);
    return undefined;
  } catch (e) {
    const msg = (e as Error).message;
    // Loaded fine; it is just not a node addon.
    return /did not self-register/.test(msg) ? undefined : msg.split('\n')[0];
  }
}

let systemLoaderCache: boolean | undefined;
/** Whether the system has a Vulkan loader (it stays loaded: Dawn's own dlopen then finds it). */
export function hasSystemVulkanLoader(): boolean {
  systemLoaderCache ??= preload('libvulkan.so.1') === undefined;
  return systemLoaderCache;
}

/** The Vulkan ICD files the loader would read by default (standard folders, `VK_*` variables aside). */
export function systemVulkanDrivers(env: Record<string, string | undefined> = process.env): string[] {
  const config = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const data = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const dirs = [...config.map((d) => path.join(d, 'vulkan', 'icd.d')), '/etc/vulkan/icd.d', ...data.map((d) => path.join(d, 'vulkan', 'icd.d'))];
  if (env.HOME) dirs.push(path.join(env.HOME, '.local', 'share', 'vulkan', 'icd.d'));
  const out: string[] = [];
  for (const d of new Set(dirs)) {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith('.json')) out.push(path.join(d, n));
  }
  return out;
}

const SOFTWARE_RE = /llvmpipe|lavapipe|lvp|swiftshader|software/i;

/** An ICD file whose driver is a CPU implementation. */
function isSoftwareDriverFile(file: string): boolean {
  if (SOFTWARE_RE.test(path.basename(file))) return true;
  try {
    const lib = (JSON.parse(readFileSync(file, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path ?? '';
    return SOFTWARE_RE.test(path.basename(lib));
  } catch {
    return false;
  }
}

export function isSoftwareAdapter(info: GpuAdapterInfoLike): boolean {
  return [info.vendor, info.architecture, info.device, info.description].some((s) => SOFTWARE_RE.test(s ?? ''));
}

/** `llvmpipe: Mesa 25.0.7 (LLVM 15.0.6), software` / `nvidia-h100-80gb-hbm3 (nvidia, hopper)` */
export function describeAdapter(a: WebGpuAdapter): string {
  const name = a.description || a.device || a.vendor || 'unknown adapter';
  const extra = a.software ? ['software'] : [a.vendor, a.architecture].filter(Boolean);
  return `${name}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

export interface ProbeOptions {
  /** Also load the project's lavapipe (software). Default true. */
  useProjectMesa?: boolean;
  /** Environment (VK_* variables, MMCTR_MESA_DIR). Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Package loader (tests inject). Default dynamic `import()`. */
  importModule?: (specifier: string) => Promise<unknown>;
}

export interface WebGpuProbe {
  /** The adapter found, if any. */
  adapter?: WebGpuAdapter;
  /** Why there is none (what was tried: the package, the loader, the drivers, the variables). */
  reason: string;
  /** The objects, for starting the backend. */
  gpu?: GpuLike;
  gpuAdapter?: GpuAdapterLike;
  dawn?: DawnModule;
}

const VK_VARS = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'VK_ADD_DRIVER_FILES'] as const;

/**
 * Makes the project's lavapipe visible to the Vulkan loader of this process (idempotent). Returns what it did, in
 * words, or why it could not.
 */
function useProjectMesa(mesa: ProjectMesa, env: Record<string, string | undefined>): { ok: boolean; note: string } {
  const failures: string[] = [];
  // The system's loader when there is one (it may be newer); else ours.
  const pending = mesa.preload.filter((l) => !(l === 'libvulkan.so.1' && hasSystemVulkanLoader()));
  // Dependencies first, without knowing the order: retry what failed while something new loads.
  let progress = true;
  let left = pending;
  while (left.length > 0 && progress) {
    const next: string[] = [];
    for (const lib of left) if (preload(path.join(mesa.libDir, lib)) !== undefined) next.push(lib);
    progress = next.length < left.length;
    left = next;
  }
  for (const lib of left) failures.push(`${lib}: ${preload(path.join(mesa.libDir, lib))}`);
  if (failures.length > 0) return { ok: false, note: `project lavapipe ${mesa.dir} failed to load: ${failures.join('; ')}` };
  if (!env.VK_DRIVER_FILES && !env.VK_ICD_FILENAMES) {
    const add = (env.VK_ADD_DRIVER_FILES ?? '').split(':').filter(Boolean);
    if (!add.includes(mesa.icd)) process.env.VK_ADD_DRIVER_FILES = [...add, mesa.icd].join(':');
    return { ok: true, note: `project lavapipe (${mesa.stamp}) added through VK_ADD_DRIVER_FILES` };
  }
  return { ok: true, note: `project lavapipe loaded, but VK_DRIVER_FILES/VK_ICD_FILENAMES set: the loader reads only those` };
}

/**
 * Looks for a WebGPU adapter through Dawn (high-performance preference). Never throws for a missing adapter: the
 * reason says what was tried.
 */
export async function probeWebGpu(opts: ProbeOptions = {}): Promise<WebGpuProbe> {
  const env = opts.env ?? process.env;
  const importModule = opts.importModule ?? ((s: string) => import(s));
  const notes: string[] = [];
  const vkSet = VK_VARS.filter((v) => env[v]).map((v) => `${v}=${env[v]}`);
  notes.push(vkSet.length ? vkSet.join(' ') : 'VK_DRIVER_FILES, VK_ICD_FILENAMES, VK_ADD_DRIVER_FILES unset');
  const mesa = opts.useProjectMesa === false ? undefined : findProjectMesa(env);
  let projectLoaded = false;
  if (mesa) {
    const r = useProjectMesa(mesa, env);
    projectLoaded = r.ok;
    notes.push(r.note);
  } else if (opts.useProjectMesa !== false) {
    const where = env[MESA_DIR_ENV_VAR] ? `${MESA_DIR_ENV_VAR}=${env[MESA_DIR_ENV_VAR]}` : MESA_RELATIVE;
    notes.push(`no project lavapipe in ${where} (run: bash environment/mesa.sh)`);
  }
  if (!projectLoaded && !hasSystemVulkanLoader()) {
    return { reason: `Dawn (npm '${DAWN_PACKAGE}') needs Vulkan: no Vulkan loader (libvulkan.so.1) on this machine; ${notes.join('; ')}` };
  }
  let dawn: DawnModule;
  try {
    dawn = (await importModule(DAWN_PACKAGE)) as DawnModule;
  } catch (e) {
    return { reason: `package '${DAWN_PACKAGE}' (Dawn) failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  // The WebGPU constants and classes tfjs-backend-webgpu reads as globals (GPUBufferUsage, GPUMapMode, GPUBuffer…).
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const gpu = dawn.create((env[DAWN_FLAGS_ENV_VAR] ?? '').split(/\s+/).filter(Boolean));
  const gpuAdapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!gpuAdapter) {
    const drivers = systemVulkanDrivers(env);
    notes.unshift(`system Vulkan drivers: ${drivers.length ? drivers.join(', ') : 'none'}`);
    return { reason: `Dawn (npm '${DAWN_PACKAGE}') found no adapter; ${notes.join('; ')}` };
  }
  const i = gpuAdapter.info;
  const software = isSoftwareAdapter(i);
  const adapter: WebGpuAdapter = {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    software,
    projectMesa: projectLoaded && software,
  };
  return { adapter, reason: '', gpu, gpuAdapter, dawn };
}

/**
 * Whether automatic selection should try WebGPU at all: a system Vulkan loader and a hardware driver (or `VK_*`
 * variables naming drivers). Returns the reason when not, without loading Dawn.
 */
export function autoWebGpuSkipReason(env: Record<string, string | undefined> = process.env): string | undefined {
  if (VK_VARS.some((v) => env[v])) return undefined;
  if (!hasSystemVulkanLoader()) {
    const mesa = findProjectMesa(env);
    return `no GPU (no Vulkan loader${mesa ? '; the project lavapipe is software, used only when forced' : ''})`;
  }
  const drivers = systemVulkanDrivers(env);
  const hardware = drivers.filter((f) => !isSoftwareDriverFile(f));
  if (hardware.length === 0) {
    return `no GPU (${drivers.length ? 'only software Vulkan drivers, used only when forced' : 'no Vulkan driver'})`;
  }
  return undefined;
}

/** What `adaptForNode` touches of tfjs's WebGPUBackend (internals of 4.22). */
interface WebGpuBackendInternals {
  tensorMap: { get(dataId: object): { dtype: string; shape: number[]; values: unknown; resource: unknown } | undefined };
  uploadToGPU(dataId: object): void;
  readSync(dataId: object): unknown;
  bufferManager: { acquireBuffer(size: number, usage: number): unknown };
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBufferView): void };
}

/** GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST: tfjs's usage of tensor buffers. */
const TENSOR_BUFFER_USAGE = 0x80 | 0x04 | 0x08;

/**
 * Host values as the GPU buffer holds them (int32 and bool as i32, float32 as f32), or undefined where tfjs's own
 * upload should run (complex64, strings, odd views).
 */
function uploadView(dtype: string, values: unknown): Int32Array | Float32Array | undefined {
  if (dtype === 'float32') return values instanceof Float32Array ? values : undefined;
  if (dtype === 'int32' || dtype === 'bool') {
    if (values instanceof Int32Array) return values;
    if (values instanceof Uint8Array || Array.isArray(values)) return Int32Array.from(values as ArrayLike<number>);
  }
  return undefined;
}

/**
 * Three changes for Node, on the backend instance (the third for speed):
 * - `readSync` (`dataSync()`) reads through an OffscreenCanvas, which Node lacks, and Dawn for Node has no
 *   synchronous wait: a tensor whose data lives only on the GPU cannot be read synchronously. The error says so
 *   (instead of `OffscreenCanvas is not defined`).
 * - int32 tensors made from host arrays (item ids) keep their host copy after the upload, so the models' host-side
 *   id checks (`dataSync()` of the ids, models/features.ts) work after an op has already used the ids on the GPU.
 *   Ids are small (batch × history) and never change.
 * - host data goes up through `queue.writeBuffer` into a pooled buffer (no new buffer per upload; see below).
 */
function adaptForNode(backend: tf.KernelBackend): tf.KernelBackend {
  const b = backend as unknown as WebGpuBackendInternals;
  const upload = b.uploadToGPU.bind(b);
  b.uploadToGPU = (dataId) => {
    const d = b.tensorMap.get(dataId);
    const keep = d && d.resource == null && d.dtype === 'int32' ? d.values : null;
    const view = d && d.resource == null && d.values != null ? uploadView(d.dtype, d.values) : undefined;
    if (d && view && view.byteLength > 0) {
      // A pooled storage buffer filled by `queue.writeBuffer` (Dawn's own staging ring), where tfjs creates a new
      // mapped staging buffer for every upload: the batch's ids and labels cost no `createBuffer` per step. A pooled
      // buffer is referenced by no pending command (tfjs frees a buffer only after the commands using it are
      // submitted), so the write, which the queue runs before the pending commands, cannot race them.
      const buffer = b.bufferManager.acquireBuffer(view.byteLength, TENSOR_BUFFER_USAGE);
      b.queue.writeBuffer(buffer, 0, view);
      d.resource = buffer;
      d.values = keep;
      return;
    }
    upload(dataId);
    if (keep != null && d) d.values = keep;
  };
  const readSync = b.readSync.bind(b);
  b.readSync = (dataId) => {
    const d = b.tensorMap.get(dataId);
    if (d && d.values == null && d.dtype !== 'string') {
      throw new MmctrError(
        'webgpu: a tensor that lives on the GPU cannot be read synchronously in Node (dataSync/arraySync/bufferSync): ' +
          'use `await tensor.data()`',
      );
    }
    return readSync(dataId);
  };
  return backend;
}

const deviceErrors: string[] = [];

/** Uncaptured device errors (validation, out of memory) so far, first line each; `clear` empties the list. */
export function webGpuErrors(clear = false): string[] {
  const out = [...deviceErrors];
  if (clear) deviceErrors.length = 0;
  return out;
}

/** The running backend's adapter and device (set by `startWebGpu`). */
let started: { adapter: WebGpuAdapter; device: GpuDeviceLike } | undefined;

export function webGpuAdapter(): WebGpuAdapter | undefined {
  return started?.adapter;
}

export interface StartWebGpuOptions extends ProbeOptions {
  /** Accept a software adapter. Default false (automatic selection); true when forced. */
  allowSoftware?: boolean;
}

/** Thrown by `startWebGpu` when there is no (acceptable) adapter; `message` is the reason. */
export class WebGpuUnavailable extends MmctrError {}

/**
 * Registers the tfjs `webgpu` backend on an adapter found by `probeWebGpu` (or reuses the running one) and returns
 * its adapter. tfjs-backend-webgpu registers its own factory only when `navigator.gpu` exists at import; here the
 * package is imported first, then `navigator.gpu` is set (its backend checks it) and the factory is ours, on the
 * adapter already inspected. Does not make it the active backend (`tf.setBackend('webgpu')` does).
 */
export async function startWebGpu(opts: StartWebGpuOptions = {}): Promise<WebGpuAdapter> {
  if (started && tf.findBackend('webgpu')) {
    if (started.adapter.software && !opts.allowSoftware) {
      throw new WebGpuUnavailable(`only a software adapter: ${describeAdapter(started.adapter)}`);
    }
    return started.adapter;
  }
  const importModule = opts.importModule ?? ((s: string) => import(s));
  const probe = await probeWebGpu(opts);
  if (!probe.adapter || !probe.gpuAdapter || !probe.gpu) throw new WebGpuUnavailable(probe.reason);
  if (probe.adapter.software && !opts.allowSoftware) {
    throw new WebGpuUnavailable(`no GPU (only a software adapter, used only when forced: ${describeAdapter(probe.adapter)})`);
  }
  let mod: { WebGPUBackend?: new (device: GpuDeviceLike, info: unknown) => tf.KernelBackend };
  try {
    mod = (await importModule(TFJS_WEBGPU_PACKAGE)) as typeof mod;
  } catch (e) {
    throw new WebGpuUnavailable(`${TFJS_WEBGPU_PACKAGE} failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
  const Backend = mod.WebGPUBackend;
  if (!Backend) throw new WebGpuUnavailable(`${TFJS_WEBGPU_PACKAGE} exports no WebGPUBackend`);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: probe.gpu, configurable: true, writable: true });
  else g.navigator = { gpu: probe.gpu };
  // The device as tfjs's own factory requests it (base.ts of tfjs-backend-webgpu): the adapter's full limits; plus
  // the adapter's storage-buffer limit per stage (default 8): the project's fused kernels (kernels/webgpu/adam.ts)
  // bind several variables per dispatch, as many as it allows.
  const a = probe.gpuAdapter;
  const requiredFeatures = ['timestamp-query'].filter((f) => a.features.has(f));
  const limitNames = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
    'maxStorageBuffersPerShaderStage',
  ];
  const requiredLimits = Object.fromEntries(limitNames.map((n) => [n, a.limits[n]]));
  const device = await a.requestDevice({ requiredFeatures, requiredLimits });
  // A validation error invalidates the whole command buffer it was recorded in, so the results of up to 15 other
  // dispatches are silently wrong: keep the messages (tests assert there are none) and warn once.
  device.onuncapturederror = (event) => {
    const message = event.error.message.split('\n').find((l) => l.trim() !== '' && !/^validation:?$/i.test(l.trim())) ?? event.error.message;
    if (deviceErrors.length === 0) process.emitWarning(`webgpu: ${message} (results of this step are wrong)`, 'MmctrWebGpuError');
    if (deviceErrors.length < 100) deviceErrors.push(message);
  };
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => adaptForNode(new Backend(device, a.info)), 1);
  started = { adapter: probe.adapter, device };
  return probe.adapter;
}
