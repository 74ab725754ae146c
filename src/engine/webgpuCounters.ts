/**
 * Counts what the `webgpu` backend asks of the GPU while a function runs: compute dispatches (per tfjs kernel and
 * per WGSL program), queue submits, buffers created and `writeBuffer` uploads. Dispatches per training step is the
 * proxy for the host overhead that dominates tfjs-webgpu steps on a real GPU (each dispatch costs bind-group and
 * encoding work; each submit a Dawn `queue.submit`), and it is the same on lavapipe as on an H100.
 *
 * Works on tfjs-backend-webgpu 4.22 internals (`recordAndSubmit`, `submitQueue`, `device`, `queue`), wrapped for the
 * duration of the call only. The kernel a dispatch is attributed to is the innermost `engine.runKernel` running.
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../errors';
import { rawCopyObservers, rawDispatchObservers } from './kernels/webgpu/raw';

export interface WebGpuCounts {
  /** `dispatchWorkgroups` calls (one per tfjs program run). */
  dispatches: number;
  /** `queue.submit` calls by tfjs (a batch of up to WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches, or a read). */
  submits: number;
  /** `device.createBuffer` calls (new GPU allocations; the buffer manager reuses freed ones). */
  buffersCreated: number;
  /** `queue.writeBuffer` calls (uniforms of every dispatch, small uploads). */
  writeBuffers: number;
  /** Dispatches by tfjs kernel name (`BatchMatMul`, `UnsortedSegmentSum`, …). */
  byKernel: Record<string, number>;
  /** Dispatches by WGSL program class (`MatMulPackedProgram`, `BinaryOpProgram`, …; the project's raw programs by key). */
  byProgram: Record<string, number>;
  /** Buffer-to-buffer copies recorded by the project's ops (raw.ts `copyRange`: no pipeline, no bind group). */
  copies: number;
  /** Every dispatch in order, as `kernel/program` (what a fusion would merge, read in sequence). */
  sequence: string[];
}

interface BackendInternals {
  recordAndSubmit(program: object, ...rest: unknown[]): void;
  submitQueue(): void;
  device: { createBuffer(...args: unknown[]): unknown };
  queue: { writeBuffer(...args: unknown[]): unknown };
}

interface EngineInternals {
  runKernel(name: string, inputs: unknown, attrs?: unknown): unknown;
}

function emptyCounts(): WebGpuCounts {
  return { dispatches: 0, submits: 0, buffersCreated: 0, writeBuffers: 0, copies: 0, byKernel: {}, byProgram: {}, sequence: [] };
}

/** Keeps `stack` holding the names of the kernels being run (innermost last) while installed; returns the undo. */
function trackKernelStack(engine: EngineInternals, stack: string[]): () => void {
  return wrap(engine, 'runKernel', (run) => (name, inputs, attrs) => {
    stack.push(name);
    try {
      return run.call(engine, name, inputs, attrs);
    } finally {
      stack.pop();
    }
  });
}

/** Replaces `obj[key]` by a wrapper for the duration of a count; returns the undo. */
function wrap<T extends object, K extends keyof T>(obj: T, key: K, make: (original: T[K]) => T[K]): () => void {
  const own = Object.prototype.hasOwnProperty.call(obj, key);
  const before = obj[key];
  obj[key] = make(before);
  return () => {
    if (own) obj[key] = before;
    else delete obj[key];
  };
}

/**
 * Runs `f` with the active `webgpu` backend instrumented and returns its result and the counts. Pending work is
 * flushed first (`submitQueue` is not forced: a count starts and ends on tfjs's own submission boundaries).
 */
export async function countWebGpu<T>(f: () => T | Promise<T>): Promise<{ result: T; counts: WebGpuCounts }> {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`countWebGpu: the active backend is '${tf.getBackend()}', not webgpu`);
  const backend = tf.backend() as unknown as BackendInternals;
  const engine = tf.engine() as unknown as EngineInternals;
  const counts = emptyCounts();
  const stack: string[] = [];
  const undo = [
    trackKernelStack(engine, stack),
    wrap(backend, 'recordAndSubmit', (record) => (program, ...rest) => {
      counts.dispatches++;
      const kernel = stack[stack.length - 1] ?? '(outside a kernel)';
      counts.byKernel[kernel] = (counts.byKernel[kernel] ?? 0) + 1;
      const prog = program.constructor?.name ?? 'unknown';
      counts.byProgram[prog] = (counts.byProgram[prog] ?? 0) + 1;
      counts.sequence.push(`${kernel}/${prog}`);
      return record.call(backend, program, ...rest);
    }),
    wrap(backend, 'submitQueue', (submit) => () => {
      counts.submits++;
      return submit.call(backend);
    }),
    wrap(backend.device, 'createBuffer', (create) => (...args) => {
      counts.buffersCreated++;
      return create.apply(backend.device, args);
    }),
    wrap(backend.queue, 'writeBuffer', (write) => (...args) => {
      counts.writeBuffers++;
      return write.apply(backend.queue, args);
    }),
  ];
  // The project's raw WGSL programs (kernels/webgpu/raw.ts) record their dispatches without `recordAndSubmit`.
  const onRaw = (key: string) => {
    counts.dispatches++;
    const kernel = stack[stack.length - 1] ?? `raw:${key.split('_')[0]}`;
    counts.byKernel[kernel] = (counts.byKernel[kernel] ?? 0) + 1;
    counts.byProgram[key] = (counts.byProgram[key] ?? 0) + 1;
    counts.sequence.push(`${kernel}/${key}`);
  };
  rawDispatchObservers.add(onRaw);
  undo.push(() => rawDispatchObservers.delete(onRaw));
  const onCopy = () => {
    counts.copies++;
  };
  rawCopyObservers.add(onCopy);
  undo.push(() => rawCopyObservers.delete(onCopy));
  try {
    const result = await f();
    return { result, counts };
  } finally {
    for (const u of undo.reverse()) u();
  }
}

/** Counts divided by `n` (per step), rounded to 0.1. */
export function perStep(c: WebGpuCounts, n: number): WebGpuCounts {
  const r = (x: number) => Math.round((x / n) * 10) / 10;
  const map = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, r(v)]));
  return {
    dispatches: r(c.dispatches),
    submits: r(c.submits),
    buffersCreated: r(c.buffersCreated),
    writeBuffers: r(c.writeBuffers),
    copies: r(c.copies),
    byKernel: map(c.byKernel),
    byProgram: map(c.byProgram),
    sequence: c.sequence,
  };
}

/** GPU time of one dispatch (its own compute pass between two timestamps). */
export interface DispatchTiming {
  /** `kernel/program` for tfjs's programs, the program key for the project's raw ones. */
  label: string;
  /** End − beginning of its pass, ns (Dawn's timestamps; quantised unless `timestamp_quantization` is off). */
  ns: number;
}

export interface WebGpuProfile<T> {
  result: T;
  /** Every dispatch in order; empty when the device lacks 'timestamp-query'. */
  dispatches: DispatchTiming[];
  /** The device had 'timestamp-query' (dispatch times were taken). */
  timestamped: boolean;
}

/** Query slots of one profile: 2 per dispatch (WebGPU allows at most 4096 per query set). */
const PROFILE_QUERIES = 4096;

interface ProfileDevice {
  features: { has(name: string): boolean };
  createQuerySet(d: { type: string; count: number }): { destroy(): void };
  createBuffer(d: { size: number; usage: number }): { mapAsync(mode: number): Promise<void>; getMappedRange(): ArrayBuffer; unmap(): void; destroy(): void };
  createCommandEncoder(): {
    resolveQuerySet(q: unknown, first: number, count: number, dst: unknown, offset: number): void;
    copyBufferToBuffer(src: unknown, so: number, dst: unknown, d: number, n: number): void;
    finish(): unknown;
  };
  queue: { submit(cbs: unknown[]): void };
}

interface ProfileBackend extends BackendInternals {
  computePassEncoder: object | null;
  commandEncoder: object | null;
  endComputePassEncoder(): void;
}

/**
 * Runs `f` with every compute dispatch of the `webgpu` backend (tfjs's and the raw programs') in a compute pass of
 * its own, timed by the pass's `timestampWrites`, and returns the GPU time of each, in order. Opt-in (the GPU
 * bench's `--profile`): one pass per dispatch removes nothing from the GPU's work, but adds encoding work and
 * barriers, so the step's wall time under a profile is not the benchmark's. Pending work is submitted before the
 * timestamps are read back. At most 2048 dispatches per call (later ones run untimed).
 */
export async function profileWebGpu<T>(f: () => T | Promise<T>): Promise<WebGpuProfile<T>> {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`profileWebGpu: the active backend is '${tf.getBackend()}', not webgpu`);
  const backend = tf.backend() as unknown as ProfileBackend;
  const device = backend.device as unknown as ProfileDevice;
  if (!device.features.has('timestamp-query')) return { result: await f(), dispatches: [], timestamped: false };
  const g = globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>;
  const encoderProto = g.GPUCommandEncoder?.prototype;
  const passProto = g.GPUComputePassEncoder?.prototype;
  if (!encoderProto || !passProto) throw new MmctrError('profileWebGpu: no GPUCommandEncoder/GPUComputePassEncoder globals (Dawn not loaded?)');
  const querySet = device.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES });
  const labels: (string | undefined)[] = [];
  let pendingLabel: string | undefined;
  const stack: string[] = [];
  const engine = tf.engine() as unknown as EngineInternals;
  const undo = [
    trackKernelStack(engine, stack),
    wrap(backend, 'recordAndSubmit', (record) => (program, ...rest) => {
      pendingLabel = `${stack[stack.length - 1] ?? '(outside a kernel)'}/${program.constructor?.name ?? 'unknown'}`;
      try {
        return record.call(backend, program, ...rest);
      } finally {
        pendingLabel = undefined;
      }
    }),
    // Every pass opened while profiling gets two timestamp slots (the next free pair).
    wrap(encoderProto, 'beginComputePass', (begin) =>
      function (this: unknown, descriptor?: Record<string, unknown>) {
        const i = labels.length;
        if (2 * i + 1 >= PROFILE_QUERIES) return (begin as (d?: unknown) => unknown).call(this, descriptor);
        labels.push(undefined);
        return (begin as (d?: unknown) => unknown).call(this, {
          ...(descriptor ?? {}),
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
        });
      }),
    // One dispatch per pass: the backend's open pass ends right after its dispatch (tfjs and raw.ts open a new one).
    wrap(passProto, 'dispatchWorkgroups', (dispatch) =>
      function (this: unknown, ...a: unknown[]) {
        const out = (dispatch as (...x: unknown[]) => unknown).apply(this, a);
        if (labels.length > 0 && labels[labels.length - 1] === undefined && pendingLabel) labels[labels.length - 1] = pendingLabel;
        if (backend.computePassEncoder === this) backend.endComputePassEncoder();
        return out;
      }),
  ];
  // Raw programs report after their dispatch: their label goes to the pass just closed.
  const onRaw = (key: string) => {
    if (labels.length > 0 && labels[labels.length - 1] === undefined) labels[labels.length - 1] = key;
  };
  rawDispatchObservers.add(onRaw);
  undo.push(() => rawDispatchObservers.delete(onRaw));
  let result: T;
  try {
    result = await f();
  } finally {
    for (const u of undo.reverse()) u();
  }
  // Submit what tfjs still holds, then resolve the timestamps behind it.
  backend.endComputePassEncoder();
  if (backend.commandEncoder) backend.submitQueue();
  const n = 2 * labels.length;
  if (n === 0) {
    querySet.destroy();
    return { result, dispatches: [], timestamped: true };
  }
  const GBU = g.GPUBufferUsage as unknown as Record<string, number>;
  const GMM = g.GPUMapMode as unknown as Record<string, number>;
  const resolved = device.createBuffer({ size: 8 * n, usage: GBU.QUERY_RESOLVE | GBU.COPY_SRC });
  const read = device.createBuffer({ size: 8 * n, usage: GBU.MAP_READ | GBU.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.resolveQuerySet(querySet, 0, n, resolved, 0);
  enc.copyBufferToBuffer(resolved, 0, read, 0, 8 * n);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GMM.READ);
  const ts = new BigUint64Array(read.getMappedRange().slice(0));
  read.unmap();
  read.destroy();
  resolved.destroy();
  querySet.destroy();
  const dispatches = labels.map((label, i) => ({ label: label ?? '(unlabelled pass)', ns: Number(ts[2 * i + 1] - ts[2 * i]) }));
  return { result, dispatches, timestamped: true };
}
