/**
 * `Slice` and `SplitV` (the gradient of `concat`) as contiguous-run copies, for `cpu` and `wasm`.
 *
 * Why: wasm's Slice first copies the whole input out of the heap (`readSync`), so splitting a [1024, 50, 256]
 * concat gradient into four parts copied 4 × 52 MB (~190 ms); cpu's non-contiguous path indexes element by element.
 * Here each slice copies only its own runs (the longest contiguous stretch: the innermost axes taken whole).
 */
import { backend_util, slice_util, util, type KernelConfig, type TensorInfo, type TypedArray } from '@tensorflow/tfjs';
import { copyRun, isNumeric, wrapKernel, type CpuBackendName, type KernelImpl } from './storage';

export const SLICE = 'Slice';
export const SPLIT_V = 'SplitV';

/** Copies x[begin … begin+size) (shape `xShape`) into `out`, in row-major order. */
export function sliceInto(xVals: TypedArray, xShape: number[], begin: number[], size: number[], out: TypedArray): void {
  const rank = xShape.length;
  if (util.sizeFromShape(size) === 0) return;
  if (rank === 0) {
    out[0] = xVals[0];
    return;
  }
  const strides = [...util.computeStrides(xShape), 1];
  // Innermost axes taken whole (plus the first partial one) form one contiguous run.
  let d = rank - 1;
  let run = size[d];
  while (d > 0 && size[d] === xShape[d]) {
    d--;
    run *= size[d];
  }
  // Odometer over axes 0 … d−1; axis d and inward are covered by the run.
  const idx = new Array<number>(d).fill(0);
  let src = 0;
  for (let a = 0; a < rank; a++) src += begin[a] * strides[a];
  const total = util.sizeFromShape(size);
  for (let dst = 0; dst < total; dst += run) {
    copyRun(xVals, src, out, dst, run);
    for (let a = d - 1; a >= 0; a--) {
      idx[a]++;
      src += strides[a];
      if (idx[a] < size[a]) break;
      src -= strides[a] * size[a];
      idx[a] = 0;
    }
  }
}

export const sliceImpl: KernelImpl = (args, store) => {
  const x = args.inputs.x as TensorInfo;
  if (!isNumeric(x.dtype)) return null;
  const [begin, size] = slice_util.parseSliceParams(x, args.attrs.begin as number[], args.attrs.size as number[]);
  slice_util.assertParamsValid(x, begin, size);
  const out = store.alloc(size, x.dtype);
  sliceInto(store.values(x), x.shape, begin, size, store.values(out));
  return out;
};

export const splitVImpl: KernelImpl = (args, store) => {
  const x = args.inputs.x as TensorInfo;
  if (!isNumeric(x.dtype)) return null;
  const axis = util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x, args.attrs.numOrSizeSplits as number[] | number, axis);
  const shapes = sizes.map((s) => x.shape.map((d, i) => (i === axis ? s : d)));
  // All outputs first: allocations may move the wasm heap.
  const outs = shapes.map((shape) => store.alloc(shape, x.dtype as 'float32'));
  const xVals = store.values(x);
  const begin = new Array<number>(x.shape.length).fill(0);
  outs.forEach((out, k) => {
    sliceInto(xVals, x.shape, begin, shapes[k], store.values(out));
    begin[axis] += sizes[k];
  });
  return outs;
};

export const makeSlice = (backendName: CpuBackendName) => (original: KernelConfig | undefined) =>
  wrapKernel(SLICE, backendName, sliceImpl, original);
export const makeSplitV = (backendName: CpuBackendName) => (original: KernelConfig | undefined) =>
  wrapKernel(SPLIT_V, backendName, splitVImpl, original);
