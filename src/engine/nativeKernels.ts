/**
 * The tfjs kernels run by the native addon (native/src/mmctr_native.cc), host-agnostic: a `Host` gives views of a
 * tensor's data and allocates outputs, for the `wasm` heap or the JS `cpu` backend's arrays. Each kernel returns
 * `null` where it does not apply (dtype, layout, small size) and the previous kernel runs instead.
 *
 * wasm rule: allocating may grow the wasm memory, which detaches every view taken before; so each kernel allocates
 * all its outputs first, then takes views, then calls the addon.
 */
import {
  backend_util,
  slice_util,
  util,
  type DataType,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
  type TypedArray,
} from '@tensorflow/tfjs';
import { MmctrError } from '../errors';
import { DROPOUT_KERNEL, checkDropoutAttrs } from './kernels/dropout';

/** The addon's functions (sizes are element counts; see native/src/mmctr_native.cc). */
export interface NativeAddon {
  gemm(
    a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number,
    transA: boolean, transB: boolean, batch: number, aIdx: Int32Array | null, bIdx: Int32Array | null,
    bias: Float32Array | null, biasMode: number, act: number, alpha: number,
    prelu: Float32Array | null, preluMode: number,
  ): void;
  gatherRows(table: TypedArray, ids: TypedArray, out: TypedArray, numRows: number, inner: number): boolean;
  scatterAdd(x: Float32Array, ids: TypedArray, out: Float32Array, numSegments: number, inner: number): void;
  binary(op: number, x: Float32Array, y: Float32Array, out: Float32Array, dims: Int32Array, xs: Int32Array, ys: Int32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduceSum(x: Float32Array, out: Float32Array, outer: number, red: number, inner: number, scale: number): void;
  copyRows(src: TypedArray, srcOffset: number, srcStride: number, dst: TypedArray, dstOffset: number, dstStride: number, rows: number, cols: number): void;
  transpose2d(src: TypedArray, dst: TypedArray, batch: number, rows: number, cols: number): void;
  /** out = x / (1 − rate) where kept by the hash of (seed, i), else 0 (src/engine/kernels/dropout.ts). */
  dropout(x: Float32Array, out: Float32Array, rate: number, seed: number): void;
  /** acc + Σ (g + lam·w)² (Σ g² when lam is 0), in double, sequentially. */
  sumSquares(g: Float32Array, w: Float32Array, lam: number, acc: number): number;
  /** The Adam update of src/train/adam.ts: m, v in place, out = the new weights. */
  adamUpdate(
    w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array,
    lam: number, scale: number, beta1: number, beta2: number, stepSize: number, sqrtBc2: number, eps: number,
  ): void;
  setNumThreads(n: number): void;
  info(): { threads: number; blasThreads: number; blasConfig: string; blasCore: string; blasParallel: number };
}

/** How the host backend stores tensors. */
export type HostKind = 'cpu' | 'wasm';

interface Host {
  /** The tensor's elements: a wasm heap view (valid until the next allocation) or the cpu backend's array. */
  view(t: TensorInfo): TypedArray;
  /** A new tensor of the host backend (uninitialised on wasm, zeros on cpu). */
  alloc(shape: number[], dtype: DataType): TensorInfo;
  /** Frees a tensor made by `alloc` that is not returned. */
  free(t: TensorInfo): void;
  /**
   * The element type actually stored. On `cpu` it can differ from the dtype: a cast from int32 to float32 keeps
   * the Int32Array, a bool tensor is a Uint8Array.
   */
  stored(t: TensorInfo): 'float32' | 'int32' | 'other';
  /** `t`'s data under a new reference (no copy; tfjs tensors are immutable). */
  share(t: TensorInfo): TensorInfo;
}

function storedType(v: unknown): 'float32' | 'int32' | 'other' {
  return v instanceof Float32Array ? 'float32' : v instanceof Int32Array ? 'int32' : 'other';
}

interface WasmBackendLike {
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): TypedArray;
}

interface CpuBackendLike {
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: TypedArray): TensorInfo;
}

function makeHost(kind: HostKind, backend: unknown): Host {
  if (kind === 'wasm') {
    const b = backend as WasmBackendLike;
    return {
      view: (t) => b.typedArrayFromHeap(t),
      alloc: (shape, dtype) => b.makeOutput(shape, dtype),
      free: (t) => void b.disposeData(t.dataId),
      stored: (t) => (t.dtype === 'float32' || t.dtype === 'int32' ? t.dtype : 'other'),
      share: (t) => shareWith(b, t),
    };
  }
  const b = backend as CpuBackendLike;
  return {
    view: (t) => {
      const v = b.data.get(t.dataId).values;
      if (!ArrayBuffer.isView(v)) throw new MmctrError(`native kernels: tensor data of dtype ${t.dtype} is not a typed array`);
      return v as TypedArray;
    },
    alloc: (shape, dtype) =>
      b.makeTensorInfo(shape, dtype, util.getTypedArrayFromDType(dtype as 'float32', util.sizeFromShape(shape))),
    free: (t) => void b.disposeData(t.dataId),
    stored: (t) => storedType(b.data.get(t.dataId).values),
    share: (t) => shareWith(b, t),
  };
}

function shareWith(b: { incRef(dataId: object): void }, t: TensorInfo): TensorInfo {
  b.incRef(t.dataId);
  return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
}

interface KernelArgs {
  /** Optional inputs (`bias`, `preluActivationWeights`) are read as `TensorInfo | undefined`. */
  inputs: Record<string, TensorInfo>;
  attrs: NamedAttrMap;
  host: Host;
  /** Element-wise and copy kernels below this many output elements keep the previous kernel. */
  minSize: number;
}

type Impl = (args: KernelArgs) => TensorInfo | TensorInfo[] | null;

/** A kernel definition: its name and a factory that closes over the kernel it replaces (may be absent). */
export interface NativeKernel {
  kernelName: string;
  make(previous: KernelFunc | undefined): KernelFunc;
}

/** Default `minSize`: below it the call overhead dominates and the previous kernel is as fast. */
export const DEFAULT_MIN_NATIVE_SIZE = 16_384;

/** float32, held as a Float32Array. */
const isF32 = (host: Host, t: TensorInfo) => t.dtype === 'float32' && host.stored(t) === 'float32';
/** float32 or int32 held as such: copies and gathers move 32-bit words (bool is 8-bit on both hosts). */
const is32 = (host: Host, t: TensorInfo) => (t.dtype === 'float32' || t.dtype === 'int32') && host.stored(t) === t.dtype;
/** Index tensors: any 32-bit storage (the addon reads Int32Array or Float32Array ids). */
const isIds = (host: Host, t: TensorInfo) => host.stored(t) !== 'other';
const f32 = (a: TypedArray) => a as Float32Array;
const size = (t: TensorInfo) => util.sizeFromShape(t.shape);

// ---------------------------------------------------------------------------------------------------------------
// Matrix products

const ZERO = new Float32Array(1);
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, prelu: 5, sigmoid: 6 };
const enum Bcast {
  None = 0,
  Scalar = 1,
  PerColumn = 2,
  PerMatrix = 3,
  Full = 4,
  /** The output already holds the broadcast bias (any other broadcast): the product accumulates onto it. */
  Prefilled = 5,
}

/** How a bias (or PReLU weight) of `shape` broadcasts over an output [...batch, m, n]; null when unsupported. */
function bcastMode(shape: number[], outShape: number[]): Bcast | null {
  const s = util.sizeFromShape(shape);
  const n = outShape[outShape.length - 1];
  const mn = n * outShape[outShape.length - 2];
  if (s === 1) return Bcast.Scalar;
  const trimmed = shape.slice(shape.findIndex((d) => d !== 1));
  if (trimmed.length === 1 && trimmed[0] === n) return Bcast.PerColumn;
  if (s === mn && util.arraysEqual(trimmed, outShape.slice(-trimmed.length)) && trimmed.length <= 2) return Bcast.PerMatrix;
  if (s === util.sizeFromShape(outShape) && util.arraysEqual(trimmed, outShape.slice(-trimmed.length))) return Bcast.Full;
  return null;
}

/** For each output batch index, the index of the operand's matrix (batch dims broadcast as in tfjs); null: 0. */
function batchIndex(operandBatch: number[], outBatch: number[]): Int32Array | null {
  if (util.sizeFromShape(operandBatch) === 1) return null;
  const r = outBatch.length;
  const padded = [...new Array(r - operandBatch.length).fill(1), ...operandBatch];
  // Operand stride per output axis; 0 where the operand is broadcast.
  const strides = padded.map((d, i) => (d === 1 ? 0 : util.sizeFromShape(padded.slice(i + 1))));
  const idx = new Int32Array(util.sizeFromShape(outBatch));
  for (let i = 0; i < idx.length; i++) {
    let rem = i;
    let off = 0;
    for (let d = r - 1; d >= 0; d--) {
      off += (rem % outBatch[d]) * strides[d];
      rem = Math.floor(rem / outBatch[d]);
    }
    idx[i] = off;
  }
  return idx;
}

function matMul(addon: NativeAddon, { inputs, attrs, host }: KernelArgs): TensorInfo | null {
  const { a, b } = inputs;
  const bias: TensorInfo | undefined = inputs.bias;
  const prelu: TensorInfo | undefined = inputs.preluActivationWeights;
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  const act = ACTIVATIONS[activation];
  if (act === undefined || !isF32(host, a) || !isF32(host, b) || (bias && !isF32(host, bias)) || (prelu && !isF32(host, prelu))) {
    return null;
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return null; // the previous kernel raises tfjs's own error
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  let outBatch: number[];
  try {
    outBatch = backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  } catch {
    return null;
  }
  const outShape = [...outBatch, m, n];
  let biasMode = bias ? bcastMode(bias.shape, outShape) : Bcast.None;
  const preluMode = prelu ? bcastMode(prelu.shape, outShape) : Bcast.None;
  if (preluMode === null || (preluMode === Bcast.PerMatrix && util.sizeFromShape(outBatch) > 1)) return null;
  let batch = util.sizeFromShape(outBatch);
  let rows = m;
  let aIdx = batchIndex(aBatch, outBatch);
  const bIdx = batchIndex(bBatch, outBatch);
  // [batch…, m, k] @ [k, n]: one product of batch·m rows.
  if (batch > 1 && bIdx === null && !transposeA && util.arraysEqual(aBatch, outBatch)) {
    rows = batch * m;
    batch = 1;
    aIdx = null;
  }
  // Per-matrix bias of a folded product, or a broadcast the addon does not index: write it into the output first.
  if (bias && (biasMode === null || (biasMode === Bcast.PerMatrix && rows !== m))) biasMode = Bcast.Prefilled;
  const out = host.alloc(outShape, 'float32');
  const outView = f32(host.view(out));
  if (bias && biasMode === Bcast.Prefilled) {
    const { dims, strides } = collapse(outShape, [bias.shape, []]);
    addon.binary(0, f32(host.view(bias)), ZERO, outView, Int32Array.from(dims), Int32Array.from(strides[0]), Int32Array.from(strides[1]));
  }
  addon.gemm(
    f32(host.view(a)), f32(host.view(b)), outView, rows, n, k, transposeA, transposeB, batch, aIdx, bIdx,
    bias && biasMode !== Bcast.Prefilled ? f32(host.view(bias)) : null, biasMode ?? Bcast.None, act,
    Number(attrs.leakyreluAlpha ?? 0.2), prelu ? f32(host.view(prelu)) : null, preluMode,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Gather and scatter-add (embedding lookups and their gradients)

function gather(addon: NativeAddon, { inputs, attrs, host, minSize }: KernelArgs): TensorInfo | null {
  const { x, indices } = inputs;
  if (Number(attrs.batchDims ?? 0) !== 0 || !is32(host, x) || !isIds(host, indices)) return null;
  const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0];
  if (util.sizeFromShape(x.shape.slice(0, axis)) !== 1) return null;
  const inner = util.sizeFromShape(x.shape.slice(axis + 1));
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  if (util.sizeFromShape(outShape) < minSize || size(x) === 0) return null;
  const out = host.alloc(outShape, x.dtype);
  if (addon.gatherRows(host.view(x), host.view(indices), host.view(out), x.shape[axis], inner)) return out;
  host.free(out); // an index out of range: the previous kernel raises tfjs's error
  return null;
}

function unsortedSegmentSum(addon: NativeAddon, { inputs, attrs, host }: KernelArgs): TensorInfo | null {
  const { x, segmentIds } = inputs;
  const numSegments = Number(attrs.numSegments);
  const r = segmentIds.shape.length;
  if (!isF32(host, x) || !isIds(host, segmentIds)) return null;
  if (!Number.isInteger(numSegments) || numSegments < 0) return null;
  if (r > x.shape.length || segmentIds.shape.some((d, i) => d !== x.shape[i])) return null;
  const inner = util.sizeFromShape(x.shape.slice(r));
  const out = host.alloc([numSegments, ...x.shape.slice(r)], 'float32');
  addon.scatterAdd(f32(host.view(x)), host.view(segmentIds), f32(host.view(out)), numSegments, inner);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Element-wise

const BINARY: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6 };
const RELU_GRAD_OP = 7;

/** The fused Relu gradient kernel (see native.ts): dy · step(x) in one pass instead of Step, Cast and Multiply. */
export const RELU_GRAD_KERNEL = 'MmctrReluGrad';

/**
 * Output dims with per-operand strides (0 on broadcast axes), with size-1 axes dropped and neighbouring axes
 * merged where both operands allow it: [B, L, 512] + [B, 1, 512] stays 3-D, [N, 64] + [N, 64] becomes 1-D.
 */
function collapse(outShape: number[], shapes: number[][]): { dims: number[]; strides: number[][] } {
  const r = outShape.length;
  const full = shapes.map((s) => {
    const padded = [...new Array(r - s.length).fill(1), ...s];
    const st = util.computeStrides(padded).concat([1]);
    return padded.map((d, i) => (d === 1 ? 0 : st[i]));
  });
  const dims: number[] = [];
  const strides: number[][] = shapes.map(() => []);
  for (let d = 0; d < r; d++) {
    if (outShape[d] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && full.every((s, j) => strides[j][last] === s[d] * outShape[d])) {
      dims[last] *= outShape[d];
      full.forEach((s, j) => (strides[j][last] = s[d]));
    } else {
      dims.push(outShape[d]);
      full.forEach((s, j) => strides[j].push(s[d]));
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    strides.forEach((s) => s.push(0));
  }
  return { dims, strides };
}

function binary(addon: NativeAddon, op: number, { inputs, host, minSize }: KernelArgs): TensorInfo | null {
  const { a, b } = inputs;
  if (!isF32(host, a) || !isF32(host, b)) return null;
  let outShape: number[];
  try {
    outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  } catch {
    return null;
  }
  if (util.sizeFromShape(outShape) < minSize) return null;
  const { dims, strides } = collapse(outShape, [a.shape, b.shape]);
  const out = host.alloc(outShape, 'float32');
  addon.binary(
    op, f32(host.view(a)), f32(host.view(b)), f32(host.view(out)),
    Int32Array.from(dims), Int32Array.from(strides[0]), Int32Array.from(strides[1]),
  );
  return out;
}

const UNARY: Record<string, number> = {
  Relu: 0, Step: 1, Sigmoid: 2, Exp: 3, Log: 4, Neg: 5, Sqrt: 6, Rsqrt: 7, Square: 8, Abs: 9, Tanh: 11, Relu6: 12,
  Log1p: 13, Reciprocal: 14,
};

function unary(addon: NativeAddon, op: number, { inputs, attrs, host, minSize }: KernelArgs): TensorInfo | null {
  const { x } = inputs;
  if (!isF32(host, x) || size(x) < minSize) return null;
  const out = host.alloc(x.shape, 'float32');
  addon.unary(op, f32(host.view(x)), f32(host.view(out)), Number(attrs.alpha ?? 0));
  return out;
}

/** Sum / Mean over a set of axes that is contiguous once size-1 axes are ignored. */
function reduce(addon: NativeAddon, mean: boolean, { inputs, attrs, host, minSize }: KernelArgs): TensorInfo | null {
  const { x } = inputs;
  if (!isF32(host, x) || size(x) < minSize) return null;
  const axes = util.parseAxisParam(attrs.axis as number | number[], x.shape);
  const reduced = x.shape.map((d, i) => axes.includes(i));
  const real = x.shape.map((d, i) => (d === 1 ? -1 : i)).filter((i) => i >= 0); // axes of size > 1
  const realReduced = real.filter((i) => reduced[i]);
  const span = realReduced.length ? real.indexOf(realReduced[realReduced.length - 1]) - real.indexOf(realReduced[0]) : 0;
  if (realReduced.length > 0 && span !== realReduced.length - 1) return null; // reduced axes interleaved with kept ones
  const first = realReduced.length ? realReduced[0] : x.shape.length;
  const lastAxis = realReduced.length ? realReduced[realReduced.length - 1] : x.shape.length - 1;
  const outer = util.sizeFromShape(x.shape.slice(0, first));
  const red = realReduced.reduce((p, i) => p * x.shape[i], 1);
  const inner = util.sizeFromShape(x.shape.slice(lastAxis + 1));
  const kept = x.shape.filter((_, i) => !reduced[i]);
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (reduced[i] ? 1 : d)) : kept;
  const out = host.alloc(outShape, 'float32');
  addon.reduceSum(f32(host.view(x)), f32(host.view(out)), outer, red, inner, mean ? 1 / red : 1);
  return out;
}

/** Cast to the same dtype shares the data (tfjs `wasm` copies it: a full pass per Relu gradient). */
function cast({ inputs, attrs, host }: KernelArgs): TensorInfo | null {
  const { x } = inputs;
  return attrs.dtype === x.dtype && x.dtype !== 'string' && x.dtype !== 'complex64' ? host.share(x) : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Copies: Concat, SplitV, Transpose

function concat(addon: NativeAddon, { inputs, attrs, host, minSize }: KernelArgs): TensorInfo | null {
  const all = Object.values(inputs) as TensorInfo[];
  if (all.length === 0 || !all.every((t) => is32(host, t) && t.dtype === all[0].dtype)) return null;
  const axis = util.parseAxisParam(attrs.axis as number, all[0].shape)[0];
  const outShape = backend_util.computeOutShape(all.map((t) => t.shape), axis);
  if (util.sizeFromShape(outShape) < minSize) return null;
  const parts = all.filter((t) => size(t) > 0);
  const outer = util.sizeFromShape(outShape.slice(0, axis));
  const inner = util.sizeFromShape(outShape.slice(axis + 1));
  const out = host.alloc(outShape, all[0].dtype);
  const dst = host.view(out);
  let offset = 0;
  for (const t of parts) {
    const cols = t.shape[axis] * inner;
    addon.copyRows(host.view(t), 0, cols, dst, offset, outShape[axis] * inner, outer, cols);
    offset += cols;
  }
  return out;
}

function splitV(addon: NativeAddon, { inputs, attrs, host, minSize }: KernelArgs): TensorInfo[] | null {
  const { x } = inputs;
  if (!is32(host, x) || size(x) < minSize) return null;
  const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x, attrs.numOrSizeSplits as number | number[], axis);
  const outer = util.sizeFromShape(x.shape.slice(0, axis));
  const inner = util.sizeFromShape(x.shape.slice(axis + 1));
  const outs = sizes.map((s) => host.alloc(x.shape.map((d, i) => (i === axis ? s : d)), x.dtype));
  const src = host.view(x);
  let offset = 0;
  sizes.forEach((s, i) => {
    const cols = s * inner;
    addon.copyRows(src, offset, x.shape[axis] * inner, host.view(outs[i]), 0, cols, outer, cols);
    offset += cols;
  });
  return outs;
}

/** Transposes that are a swap of two blocks of axes, optionally under leading batch axes. */
function transpose(addon: NativeAddon, { inputs, attrs, host, minSize }: KernelArgs): TensorInfo | null {
  const { x } = inputs;
  if (!is32(host, x) || size(x) < minSize) return null;
  const perm = attrs.perm as number[];
  // Drop size-1 axes, then merge runs of consecutive axes.
  const keep = perm.filter((p) => x.shape[p] !== 1);
  const runs: number[][] = [];
  for (const p of keep) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] + 1 === p) last.push(p);
    else runs.push([p]);
  }
  const outShape = perm.map((p) => x.shape[p]);
  const runSize = (r: number[]) => r.reduce((s, p) => s * x.shape[p], 1);
  let batch: number;
  let rows: number;
  let cols: number;
  if (runs.length === 2 && runs[1][0] < runs[0][0]) {
    [batch, rows, cols] = [1, runSize(runs[1]), runSize(runs[0])];
  } else if (runs.length === 3 && runs[0][0] < runs[2][0] && runs[2][0] < runs[1][0]) {
    [batch, rows, cols] = [runSize(runs[0]), runSize(runs[2]), runSize(runs[1])];
  } else {
    return null;
  }
  const out = host.alloc(outShape, x.dtype);
  addon.transpose2d(host.view(x), host.view(out), batch, rows, cols);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Dropout (the project's hashed-mask kernel, same masks as the JS one)

function dropout(addon: NativeAddon, { inputs, attrs, host }: KernelArgs): TensorInfo | null {
  const { x } = inputs;
  if (!isF32(host, x)) return null;
  const { rate, seed } = checkDropoutAttrs(attrs);
  const out = host.alloc(x.shape, 'float32');
  addon.dropout(f32(host.view(x)), f32(host.view(out)), rate, seed);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Adam (called by src/train/adam.ts, not a tfjs kernel: the moments are plain Float32Arrays)

/** The scalars of one Adam update (see src/train/adam.ts). */
export interface AdamUpdateArgs {
  lam: number;
  scale: number;
  beta1: number;
  beta2: number;
  stepSize: number;
  sqrtBc2: number;
  epsilon: number;
}

/** Adam's two passes over a backend's tensors, natively; each returns null where a tensor is not float32 data. */
export interface NativeAdamOps {
  /** acc + Σ (g + lam·w)² (Σ g² when lam is 0) in double, in element order. */
  sumSquares(g: TensorInfo, w: TensorInfo, lam: number, acc: number): number | null;
  /** The new weights, a tensor of the backend; `m` and `v` are updated in place. */
  update(w: TensorInfo, g: TensorInfo, m: Float32Array, v: Float32Array, a: AdamUpdateArgs): TensorInfo | null;
}

export function makeAdamOps(addon: NativeAddon, kind: HostKind, backend: unknown): NativeAdamOps {
  const host = makeHost(kind, backend);
  return {
    sumSquares: (g, w, lam, acc) => {
      if (!isF32(host, g) || !isF32(host, w) || size(g) !== size(w)) return null;
      return addon.sumSquares(f32(host.view(g)), f32(host.view(w)), lam, acc);
    },
    update: (w, g, m, v, a) => {
      const n = size(w);
      if (!isF32(host, g) || !isF32(host, w) || size(g) !== n || m.length !== n || v.length !== n) return null;
      const out = host.alloc(w.shape, 'float32');
      addon.adamUpdate(
        f32(host.view(w)), f32(host.view(g)), m, v, f32(host.view(out)),
        a.lam, a.scale, a.beta1, a.beta2, a.stepSize, a.sqrtBc2, a.epsilon,
      );
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

/** Calls per kernel name since the last reset: run natively, or handed to the previous kernel. */
export interface NativeCallCounts {
  native: Record<string, number>;
  fallback: Record<string, number>;
}

export const callCounts: NativeCallCounts = { native: {}, fallback: {} };

/** The kernels for a host kind (the same on both). */
export function makeNativeKernels(addon: NativeAddon, kind: HostKind, minSize = DEFAULT_MIN_NATIVE_SIZE): NativeKernel[] {
  const impls: [string, Impl][] = [
    ['BatchMatMul', (a) => matMul(addon, a)],
    ['_FusedMatMul', (a) => matMul(addon, a)],
    ['GatherV2', (a) => gather(addon, a)],
    ['UnsortedSegmentSum', (a) => unsortedSegmentSum(addon, a)],
    ...Object.entries(BINARY).map(([name, op]): [string, Impl] => [name, (a) => binary(addon, op, a)]),
    ...Object.entries(UNARY).map(([name, op]): [string, Impl] => [name, (a) => unary(addon, op, a)]),
    ['Cast', (a) => cast(a)],
    [RELU_GRAD_KERNEL, (a) => binary(addon, RELU_GRAD_OP, { ...a, inputs: { a: a.inputs.dy, b: a.inputs.x }, minSize: 0 })],
    ['Sum', (a) => reduce(addon, false, a)],
    ['Mean', (a) => reduce(addon, true, a)],
    ['Concat', (a) => concat(addon, a)],
    ['SplitV', (a) => splitV(addon, a)],
    ['Transpose', (a) => transpose(addon, a)],
    [DROPOUT_KERNEL, (a) => dropout(addon, a)],
  ];
  return impls.map(([kernelName, impl]) => ({
    kernelName,
    make: (previous) =>
      ((args: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }) => {
        const host = makeHost(kind, args.backend);
        const r = impl({ inputs: args.inputs as Record<string, TensorInfo>, attrs: args.attrs ?? {}, host, minSize });
        const counts = r !== null ? callCounts.native : callCounts.fallback;
        counts[kernelName] = (counts[kernelName] ?? 0) + 1;
        if (r !== null) return r;
        if (!previous) throw new MmctrError(`native ${kernelName}: inputs not supported and no tfjs kernel to fall back to`);
        return previous(args as Parameters<KernelFunc>[0]);
      }) as KernelFunc,
  }));
}
