/**
 * `Transpose` for the CPU backends.
 *
 * - both: a permutation that keeps the order of the axes longer than 1 moves no data, so the output can share the
 *   input's data (as `Reshape` does). The gradient of `gather` runs two such transposes per lookup, one of them on
 *   the whole embedding table: wasm copied it, cpu permuted it element by element. On wasm only the true identity
 *   (same shape) is shared: wasm's MatMul caches XNNPACK's packed weights by tensor id without the shape, so a
 *   [k, 1] weight and its [1, k] transpose must not share an id (a stale packing gave wrong products).
 * - cpu: tfjs's kernel allocates two arrays per element (index → location → permuted index); permuting a table of
 *   91,718 × 64 floats took seconds. Here rank 2 uses a cache-blocked loop, other ranks walk the output in order
 *   with an odometer over the input strides. (wasm's native transpose is as fast as JS here and is kept.)
 */
import { util, type KernelConfig, type TensorInfo, type TypedArray } from '@tensorflow/tfjs';
import { isNumeric, wrapKernel, type CpuBackendName, type KernelImpl } from './storage';

export const TRANSPOSE = 'Transpose';

/** out = x permuted by `perm` (`out` has x's size). */
export function transposeImpl(x: TypedArray, shape: number[], perm: number[], out: TypedArray): void {
  const rank = shape.length;
  const size = util.sizeFromShape(shape);
  if (size === 0) return;
  if (rank === 2 && perm[0] === 1) {
    const [rows, cols] = shape;
    const B = 32;
    for (let r0 = 0; r0 < rows; r0 += B) {
      const r1 = Math.min(r0 + B, rows);
      for (let c0 = 0; c0 < cols; c0 += B) {
        const c1 = Math.min(c0 + B, cols);
        for (let r = r0; r < r1; r++) {
          const src = r * cols;
          for (let c = c0; c < c1; c++) out[c * rows + r] = x[src + c];
        }
      }
    }
    return;
  }
  const inStrides = [...util.computeStrides(shape), 1];
  // Output axis i walks input axis perm[i]: its input stride and its extent.
  const stride = perm.map((p) => inStrides[p]);
  const extent = perm.map((p) => shape[p]);
  const last = rank - 1;
  const lastStride = stride[last];
  const lastExtent = extent[last];
  const idx = new Array<number>(rank).fill(0);
  let base = 0; // input offset of the current output row
  for (let o = 0; o < size; o += lastExtent) {
    for (let j = 0, src = base; j < lastExtent; j++, src += lastStride) out[o + j] = x[src];
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      base += stride[d];
      if (idx[d] < extent[d]) break;
      base -= stride[d] * extent[d];
      idx[d] = 0;
    }
  }
}

/** True when `perm` keeps the relative order of the axes longer than 1 (no data moves). */
export function movesNoData(shape: number[], perm: number[]): boolean {
  const kept = perm.filter((p) => shape[p] !== 1);
  return kept.every((p, i) => i === 0 || p > kept[i - 1]);
}

const transposeFor =
  (backendName: CpuBackendName): KernelImpl =>
  (args, store) => {
    const x = args.inputs.x as TensorInfo;
    const perm = args.attrs.perm as number[];
    if (!isNumeric(x.dtype)) return null;
    const outShape = perm.map((p) => x.shape[p]);
    if (backendName === 'wasm') {
      return perm.every((p, i) => p === i) ? store.share(x, outShape) : null;
    }
    if (movesNoData(x.shape, perm)) return store.share(x, outShape);
    const out = store.alloc(outShape, x.dtype);
    transposeImpl(store.values(x), x.shape, perm, store.values(out));
    return out;
  };

export const makeTranspose = (backendName: CpuBackendName) => (original: KernelConfig | undefined) =>
  wrapKernel(TRANSPOSE, backendName, transposeFor(backendName), original);
