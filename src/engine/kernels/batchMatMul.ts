/**
 * Matrix products for training on `wasm`, and a BatchMatMul gradient that is correct under broadcasting.
 *
 * 1. `wasm` kernel wrapper. The wasm BatchMatMul with `transposeA`/`transposeB` runs ~10× slower than without
 *    (≈2 vs 20–28 GFLOP/s on this machine), and every backward pass of `matMul` sets those flags. When the product
 *    is one 2-D product (no batch, a batch of 1, or `a`'s batch folded into rows because `b` has none), the wrapper
 *    transposes explicitly, picking the cheaper of two equivalent forms, and calls the original kernel without
 *    flags. Measured for the first attention layer's weight gradient ([51200, 256]ᵀ @ [51200, 80]): 1,700–2,100 ms
 *    with the flag, 116 ms as transpose + product. Products with a real batch on both sides keep the original path
 *    (small per-batch matrices: flags cost nothing there). Folding `[batch, m, k] @ [k, n]` into one
 *    `[batch·m, k] @ [k, n]` product also replaces the wasm kernel's per-batch loop. Only flag-free products with a batch of 1 reach XNNPACK; everything else runs a
 *    naive loop (tfjs-backend-wasm src/cc/batch_mat_mul_impl.cc). XNNPACK's packed right operand is cached by tensor
 *    id alone (not shape): an id must never be passed as `b` under two shapes, so explicit transposes here always
 *    produce new tensors (see transpose.ts).
 * 2. Gradient (all backends). tfjs-core's BatchMatMul gradient returns a gradient of `b`'s broadcast shape, so
 *    `matMul([batch, m, k], [k, n])` fails in backprop ("The gradient of input 'b' has shape 'batch,k,n', which
 *    does not match the shape of the input 'k,n'"). This one folds the batch into rows when `b` has none (one 2-D
 *    product, no reduction) and otherwise sums the gradient over the broadcast axes.
 */
import * as tf from '@tensorflow/tfjs';
import {
  broadcast_util,
  util,
  type GradConfig,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const BATCH_MAT_MUL = 'BatchMatMul';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

type WasmKernel = (args: { inputs: NamedTensorInfoMap; backend: BackendWasm; attrs: NamedAttrMap }) => TensorInfo;

/** A view of `t` with another shape of the same size (the wasm backend addresses data by id, not by shape). */
function view(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/**
 * Builds the wasm kernel wrapper around the original kernel (`original`) and the backend's Transpose kernel.
 * Exported for the tests and the benchmark; `registerProjectKernels` installs it.
 */
export function makeWasmBatchMatMul(original: KernelConfig, transposeKernel: KernelConfig): KernelConfig {
  const matMul = original.kernelFunc as unknown as WasmKernel;
  const transposeFn = transposeKernel.kernelFunc as unknown as WasmKernel;
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: BackendWasm; attrs: NamedAttrMap }) => {
    const { inputs, backend } = args;
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
    const aRank = a.shape.length;
    const bRank = b.shape.length;
    const aBatch = util.sizeFromShape(a.shape.slice(0, -2));
    const bBatch = util.sizeFromShape(b.shape.slice(0, -2));
    // `a`'s batch can fold into rows only when `b` has no batch and `a` is not transposed.
    const foldA = aBatch > 1 && bBatch === 1 && !transposeA;
    if ((aBatch > 1 && !foldA) || (bBatch > 1) || (!transposeA && !transposeB && !foldA)) {
      return matMul(args);
    }
    // From here: one 2-D product op(a2) @ op(b2).
    const a2 = view(a, foldA ? [aBatch * a.shape[aRank - 2], a.shape[aRank - 1]] : a.shape.slice(-2));
    const b2 = view(b, b.shape.slice(-2));
    const m = transposeA ? a2.shape[1] : a2.shape[0];
    const k = transposeA ? a2.shape[0] : a2.shape[1];
    const n = transposeB ? b2.shape[0] : b2.shape[1];
    const outShape = broadcast_util
      .assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
      .concat([foldA ? a.shape[aRank - 2] : m, n]);
    const temps: TensorInfo[] = [];
    /** Explicit 2-D transpose; `temp` results are freed before returning. */
    const transpose = (t: TensorInfo, temp = true): TensorInfo => {
      const r = transposeFn({ inputs: { x: t }, backend, attrs: { perm: [1, 0] } });
      if (temp) temps.push(r);
      return r;
    };
    const plain = (x: TensorInfo, y: TensorInfo, temp = false): TensorInfo => {
      const r = matMul({ inputs: { a: x, b: y }, backend, attrs: { transposeA: false, transposeB: false } });
      if (temp) temps.push(r);
      return r;
    };
    // Two equivalent forms per case; cost in elements moved: each explicit transpose, plus the right operand of each
    // product (XNNPACK packs it on every call: ~3.4 ns/element here, about a transpose's cost).
    let out: TensorInfo;
    if (!transposeA && !transposeB) {
      out = plain(a2, b2); // folded batch
    } else if (!transposeA) {
      // a2 [m,k] · (b2 [n,k])ᵀ = a·T(b), or T(b·T(a)).
      out =
        2 * n * k <= 2 * m * k + n * m
          ? plain(a2, transpose(b2))
          : transpose(plain(b2, transpose(a2), true), false);
    } else if (!transposeB) {
      // (a2 [k,m])ᵀ · b2 [k,n] = T(a)·b (m·k + k·n), or T(T(b)·a) (n·k + k·m + n·m): the first always wins.
      out = plain(transpose(a2), b2);
    } else {
      // aᵀbᵀ = T(b·a) (k·m + n·m), or T(a)·T(b) (m·k + 2·n·k).
      out = n * m <= 2 * n * k ? transpose(plain(b2, a2, true), false) : plain(transpose(a2), transpose(b2));
    }
    for (const t of temps) backend.disposeData(t.dataId);
    return { dataId: out.dataId, shape: outShape, dtype: out.dtype };
  };
  return {
    kernelName: BATCH_MAT_MUL,
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}

/** Sums `grad` over the axes along which `shape` was broadcast, then gives it `shape`. */
function reduceTo(grad: Tensor, shape: number[]): Tensor {
  const axes = broadcast_util.getReductionAxes(shape, grad.shape);
  const summed = axes.length > 0 ? tf.sum(grad, axes) : grad;
  return tf.reshape(summed, shape);
}

/** Backward of C = op(A) @ op(B) for 2-D-or-batched operands; see the file comment. */
export const batchMatMulGradConfig: GradConfig = {
  kernelName: BATCH_MAT_MUL,
  inputsToSave: ['a', 'b'],
  gradFunc: (dyIn, saved, attrs) => {
    const dy = dyIn as Tensor;
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as MatMulAttrs;
    const bUnbatched = util.sizeFromShape(b.shape.slice(0, -2)) === 1;
    if (bUnbatched && !transposeA && a.rank > 2) {
      // [batch…, m, k] @ [k, n]: one 2-D product per gradient, no reduction.
      const k = a.shape[a.rank - 1];
      const n = dy.shape[dy.rank - 1];
      const b2 = tf.reshape(b, b.shape.slice(-2) as [number, number]);
      return {
        a: () => tf.reshape(tf.matMul(tf.reshape(dy, [-1, n]), b2, false, !transposeB), a.shape),
        b: () => {
          const a2 = tf.reshape(a, [-1, k]);
          const dy2 = tf.reshape(dy, [-1, n]);
          // B is [k,n]: Aᵀ·dy; B is [n,k] (transposeB): dyᵀ·A.
          const g = transposeB ? tf.matMul(dy2, a2, true, false) : tf.matMul(a2, dy2, true, false);
          return tf.reshape(g, b.shape);
        },
      };
    }
    let ga: () => Tensor;
    let gb: () => Tensor;
    if (!transposeA && !transposeB) {
      ga = () => tf.matMul(dy, b, false, true);
      gb = () => tf.matMul(a, dy, true, false);
    } else if (!transposeA && transposeB) {
      ga = () => tf.matMul(dy, b, false, false);
      gb = () => tf.matMul(dy, a, true, false);
    } else if (transposeA && !transposeB) {
      ga = () => tf.matMul(b, dy, false, true);
      gb = () => tf.matMul(a, dy, false, false);
    } else {
      ga = () => tf.matMul(b, dy, true, true);
      gb = () => tf.matMul(dy, a, true, true);
    }
    return { a: () => reduceTo(ga(), a.shape), b: () => reduceTo(gb(), b.shape) };
  },
};
