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
    wrap(engine, 'runKernel', (run) => (name, inputs, attrs) => {
      stack.push(name);
      try {
        return run.call(engine, name, inputs, attrs);
      } finally {
        stack.pop();
      }
    }),
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
