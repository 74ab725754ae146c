/**
 * Raw WGSL programs on tfjs-backend-webgpu 4.22's command stream: any number of storage bindings, each `read` or
 * `read_write`, several outputs per dispatch, and in-place updates of existing tensors (variables, Adam moments).
 *
 * Why not `runWebGPUProgram` (program.ts): tfjs binds one output (binding 0) and declares every input `read`, so a
 * fused kernel that updates a variable and its two moments in place, or writes a value and its statistics, would
 * need one dispatch per output plus copies. Here the shader is ours from the first line; the dispatch is recorded
 * into tfjs's own command encoder / compute pass (the order with tfjs's dispatches is kept, and its submit batching
 * applies), and the buffers are the tensors' own (`tensorMap[dataId].resource`).
 *
 * Contract of a `RawProgram`: bindings 0..n−1 are the tensors passed to `runRaw` in order, declared
 * `var<storage, read|read_write> <name> : array<f32|i32|u32>`; binding n is `var<uniform> u : U` with the scalar
 * fields of `uniforms` (each 4 bytes; padded to 16-byte multiples); the body defines
 * `@compute @workgroup_size(...) fn main(...)`. With layout 'auto' a binding the body never reads is dropped from the
 * pipeline, so every binding must be used. The linear workgroup index of a 2-D dispatch (`workgroupGrid`) is
 * `wid.x + wid.y * nwg.x`.
 *
 * In place: a tensor written by a raw program must not share its buffer with another live tensor (refCount 1), and
 * its host copy (tfjs caches values read by `data()`) is dropped after the dispatch (`writes`).
 */
import * as tf from '@tensorflow/tfjs';
import type { DataType, TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';

export type WgslType = 'f32' | 'i32' | 'u32';
/** Storage element types: the scalars, or `atomic<i32>` (float sums through atomicAddF32 in program.ts). */
export type StorageType = WgslType | 'atomic<i32>';

export interface RawBinding {
  name: string;
  access: 'read' | 'read_write';
  type: StorageType;
}

export interface RawProgram {
  /** Pipeline cache key (the WGSL is a function of it). */
  key: string;
  bindings: RawBinding[];
  /** Scalar uniform fields, in order. */
  uniforms: { name: string; type: WgslType }[];
  /** WGSL after the declarations: helper functions and the `main` entry point. */
  body: string;
}

/** The parts of tfjs's WebGPUBackend 4.22 a raw dispatch touches. */
interface BackendInternals {
  device: {
    createShaderModule(d: { code: string; label?: string }): unknown;
    createComputePipeline(d: Record<string, unknown>): { getBindGroupLayout(i: number): unknown };
    createBindGroup(d: Record<string, unknown>): unknown;
    limits: Record<string, number>;
  };
  tensorMap: { get(dataId: object): { resource: unknown; values: unknown; refCount: number; dtype: string } | undefined };
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: CommandEncoder | null;
  computePassEncoder: ComputePass | null;
  dispatchCountInPass: number;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(dataId: object): void;
  makeUniforms(u: { type: string; data: number[] }[]): unknown;
  makeTensorInfo(shape: number[], dtype: DataType, values?: unknown): TensorInfo;
}
interface CommandEncoder {
  beginComputePass(d: Record<string, unknown>): ComputePass;
  copyBufferToBuffer(src: unknown, srcOffset: number, dst: unknown, dstOffset: number, size: number): void;
}
interface ComputePass {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
  end(): void;
}

/** Observers of raw dispatches (webgpuCounters.ts counts them with tfjs's own). */
export const rawDispatchObservers = new Set<(programKey: string) => void>();
/** Observers of buffer-to-buffer copies recorded by `copyRange` (webgpuCounters.ts counts them). */
export const rawCopyObservers = new Set<() => void>();

const pipelines = new WeakMap<object, Map<string, { getBindGroupLayout(i: number): unknown }>>();

function backendInternals(): BackendInternals {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`raw WGSL program: the active backend is '${tf.getBackend()}', not webgpu`);
  return tf.backend() as unknown as BackendInternals;
}

/** `maxStorageBuffersPerShaderStage` of the running device (8 unless startWebGpu raised it). */
export function maxStorageBuffers(): number {
  return backendInternals().device.limits.maxStorageBuffersPerShaderStage ?? 8;
}

/** `maxComputeWorkgroupsPerDimension` of the running device. */
function maxWorkgroupsPerDim(b: BackendInternals): number {
  return b.device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
}

/** Threads per workgroup of the flat raw programs (one invocation per element). */
export const FLAT_WG = 256;

/**
 * WGSL opening the `main` of a flat program: `idx` is the invocation's linear index over a `flatGrid` dispatch (it
 * may run past the element count: the body checks). The body continues after it and closes the brace.
 */
export const FLAT_MAIN = `
@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let idx = i32(wid.x + wid.y * nwg.x) * ${FLAT_WG} + i32(lid);`;

/** The dispatch grid of a flat program over `n` elements. */
export function flatGrid(n: number): [number, number, number] {
  return workgroupGrid(Math.ceil(n / FLAT_WG));
}

/** [x, y, 1] workgroups covering `n` (linear index `wid.x + wid.y * nwg.x` in the shader; may exceed n). */
export function workgroupGrid(n: number, maxPerDim = 65535): [number, number, number] {
  const total = Math.max(1, Math.ceil(n));
  if (total <= maxPerDim) return [total, 1, 1];
  const y = Math.ceil(total / maxPerDim);
  return [Math.ceil(total / y), y, 1];
}

function wgsl(p: RawProgram): string {
  const decl = p.bindings
    .map((b, i) => `@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name} : array<${b.type}>;`)
    .join('\n');
  const fields = [...p.uniforms];
  while (fields.length % 4 !== 0 || fields.length === 0) fields.push({ name: `_pad${fields.length}`, type: 'i32' });
  const struct = `struct U { ${fields.map((f) => `${f.name} : ${f.type},`).join(' ')} };`;
  return `${decl}\n${struct}\n@group(0) @binding(${p.bindings.length}) var<uniform> u : U;\n${p.body}`;
}

function pipelineFor(b: BackendInternals, p: RawProgram) {
  let cache = pipelines.get(b.device);
  if (!cache) pipelines.set(b.device, (cache = new Map()));
  let pipe = cache.get(p.key);
  if (!pipe) {
    const module = b.device.createShaderModule({ code: wgsl(p), label: p.key });
    pipe = b.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: p.key });
    cache.set(p.key, pipe);
  }
  return pipe;
}

/** The largest buffer a raw program can bind whole: min(maxStorageBufferBindingSize, maxBufferSize), bytes. */
export function storageBindingLimit(): number {
  const b = backendInternals();
  return Math.min(b.device.limits.maxStorageBufferBindingSize ?? Infinity, b.device.limits.maxBufferSize ?? Infinity);
}

/** A new float32/int32 tensor of `shape` whose GPU buffer exists (contents undefined until a program writes it). */
export function allocOnGpu(shape: number[], dtype: DataType = 'float32'): TensorInfo {
  const b = backendInternals();
  const bytes = 4 * shape.reduce((a, d) => a * d, 1);
  const limit = storageBindingLimit();
  if (bytes > limit) {
    throw new MmctrError(
      `webgpu: a ${dtype} tensor of shape [${shape}] needs ${(bytes / 2 ** 30).toFixed(2)} GiB, above this device's storage-buffer limit of ${(limit / 2 ** 30).toFixed(2)} GiB; use a smaller --batch-size (the largest per-step tensors grow with batch × history length)`,
    );
  }
  const info = b.makeTensorInfo(shape, dtype);
  b.uploadToGPU(info.dataId);
  return info;
}

/**
 * Records one dispatch of `p` over `tensors` (binding order) with uniform values `uniforms` (in `p.uniforms`
 * order) and `workgroups`. `writes` lists the tensors written in place that existed before (their host copies are
 * dropped). Returns nothing: outputs are tensors the caller allocated (`allocOnGpu`).
 */
export function runRaw(
  p: RawProgram,
  tensors: TensorInfo[],
  uniforms: number[],
  workgroups: [number, number, number],
  writes: TensorInfo[] = [],
): void {
  const b = backendInternals();
  if (tensors.length !== p.bindings.length) {
    throw new MmctrError(`raw program ${p.key}: ${tensors.length} tensors for ${p.bindings.length} bindings`);
  }
  if (uniforms.length !== p.uniforms.length) {
    throw new MmctrError(`raw program ${p.key}: ${uniforms.length} uniform values for ${p.uniforms.length} fields`);
  }
  const max = maxWorkgroupsPerDim(b);
  if (workgroups.some((w) => w > max)) throw new MmctrError(`raw program ${p.key}: workgroups [${workgroups}] exceed ${max} per dimension`);
  const written = new Set<object>();
  for (let i = 0; i < tensors.length; i++) {
    b.uploadToGPU(tensors[i].dataId);
    if (p.bindings[i].access === 'read_write') {
      if (written.has(tensors[i].dataId)) throw new MmctrError(`raw program ${p.key}: one buffer bound writable twice`);
      written.add(tensors[i].dataId);
    }
  }
  const pipe = pipelineFor(b, p);
  const fields = p.uniforms.map((f, i) => ({ type: f.type === 'f32' ? 'float32' : f.type === 'u32' ? 'uint32' : 'int32', data: [uniforms[i]] }));
  while (fields.length % 4 !== 0 || fields.length === 0) fields.push({ type: 'int32', data: [0] });
  const entries = tensors.map((t, i) => ({ binding: i, resource: { buffer: b.tensorMap.get(t.dataId)!.resource } }));
  entries.push({ binding: tensors.length, resource: b.makeUniforms(fields) as { buffer: unknown } });
  const bindGroup = b.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
  for (const t of tensors) b.commandQueueOwnedIds.add(t.dataId);
  b.ensureCommandEncoderReady();
  if (!b.computePassEncoder) b.computePassEncoder = b.commandEncoder!.beginComputePass({});
  b.computePassEncoder.setPipeline(pipe);
  b.computePassEncoder.setBindGroup(0, bindGroup);
  b.computePassEncoder.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
  for (const o of rawDispatchObservers) o(p.key);
  b.dispatchCountInPass++;
  for (const t of writes) {
    const d = b.tensorMap.get(t.dataId);
    if (d) d.values = null;
  }
  if ((tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= b.dispatchCountInPass) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
}

/**
 * Records a copy of `bytes` bytes from `src` (at byte `srcOffset`) to `dst` (at `dstOffset`) into tfjs's command
 * encoder, in order with the dispatches around it (the open compute pass is ended; the next dispatch opens one).
 * A copy command has no pipeline, bind group or uniforms: much less host work than a dispatch. Offsets and size
 * must be multiples of 4. `dst`'s host copy is dropped.
 */
export function copyRange(src: TensorInfo, srcOffset: number, dst: TensorInfo, dstOffset: number, bytes: number): void {
  if (bytes === 0) return;
  if (srcOffset % 4 || dstOffset % 4 || bytes % 4) throw new MmctrError(`copyRange: offsets and size must be multiples of 4 (${srcOffset}, ${dstOffset}, ${bytes})`);
  const b = backendInternals();
  b.uploadToGPU(src.dataId);
  b.uploadToGPU(dst.dataId);
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.commandEncoder!.copyBufferToBuffer(b.tensorMap.get(src.dataId)!.resource, srcOffset, b.tensorMap.get(dst.dataId)!.resource, dstOffset, bytes);
  b.commandQueueOwnedIds.add(src.dataId);
  b.commandQueueOwnedIds.add(dst.dataId);
  const d = b.tensorMap.get(dst.dataId);
  if (d) d.values = null;
  for (const o of rawCopyObservers) o();
}

/**
 * Submits the commands recorded so far (tfjs's and the raw programs'), so that the GPU works on them while the host
 * goes on (host-built index data of a backward pass, say); tfjs would otherwise hold them until its batch of
 * WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches is full. Order and results are unchanged; costs one queue submit.
 */
export function flushQueue(): void {
  const b = backendInternals();
  if (!b.commandEncoder) return;
  b.endComputePassEncoder();
  b.submitQueue();
}

/** The tensor's buffer is shared with another tensor (an in-place write would change both). */
export function isShared(t: TensorInfo): boolean {
  const d = backendInternals().tensorMap.get(t.dataId);
  return !d || d.refCount > 1;
}

const COPY: RawProgram = {
  key: 'mmctrCopy',
  bindings: [
    { name: 'src', access: 'read', type: 'f32' },
    { name: 'dst', access: 'read_write', type: 'f32' },
  ],
  uniforms: [{ name: 'n', type: 'i32' }],
  body: `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let i = i32(wid.x + wid.y * nwg.x) * 256 + i32(lid);
  if (i < u.n) { dst[i] = src[i]; }
}`,
};

/**
 * Gives `v` a buffer of its own when it shares one with another tensor (tfjs shares buffers between a variable and
 * the tensor it was assigned from, reshapes, clones): an in-place update must not change the other tensor.
 */
export function ownBuffer(v: tf.Variable): void {
  if (!isShared(v)) return;
  const copy = allocOnGpu([...v.shape], 'float32');
  runRaw(COPY, [v, copy], [v.size], workgroupGrid(Math.ceil(v.size / 256)));
  const t = tf.engine().makeTensorFromTensorInfo(copy);
  v.assign(t);
  t.dispose();
}

