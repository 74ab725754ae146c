/**
 * `UnsortedSegmentSum` as a scatter-add over the backends' typed arrays, for `cpu` and `wasm`.
 *
 * Why: it is the gradient of `gather`, i.e. of every embedding lookup. The JS `cpu` backend's own kernel builds
 * equal/cast/multiply/sum tensors for every one of `numSegments` table rows (a small DIN step took minutes on a
 * 91,718-row table); `wasm` has no kernel at all ("Kernel 'UnsortedSegmentSum' not registered").
 *
 * Semantics (those of TensorFlow and of tfjs's own kernels): `segmentIds` has the shape of a prefix of `x.shape`;
 * out[s, ...inner] = Σ x[i..., ...inner] over the positions i whose segment id is s. Ids outside [0, numSegments)
 * are dropped, as the tfjs `cpu` kernel drops them (TensorFlow drops negative ids too). The output dtype is
 * `sumOutType(x.dtype)` (float32 → float32, int32 → int32), as in tfjs `webgl` and TensorFlow; the tfjs `cpu`
 * kernel returns float32 for int32 data, with the same values.
 */
import { sumOutType, util, type KernelConfig, type TensorInfo, type TypedArray } from '@tensorflow/tfjs';
import { MmctrError } from '../../errors';
import { isNumeric, wrapKernel, type CpuBackendName, type KernelImpl, type NumericDType } from './storage';

/** The kernel's name in the tfjs registry. */
export const UNSORTED_SEGMENT_SUM = 'UnsortedSegmentSum';

/** Output shape and the flattened sizes the scatter-add loops over. */
interface SegmentLayout {
  outShape: number[];
  /** Number of segment ids (product of segmentIds.shape). */
  numIds: number;
  /** Elements of x per id (product of x.shape after the ids' rank). */
  inner: number;
}

function layout(x: TensorInfo, segmentIds: TensorInfo, numSegments: number): SegmentLayout {
  const idRank = segmentIds.shape.length;
  const prefixOk = idRank <= x.shape.length && segmentIds.shape.every((d, i) => d === x.shape[i]);
  if (!prefixOk) {
    throw new MmctrError(
      `unsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
    );
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new MmctrError(`unsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`);
  }
  const innerShape = x.shape.slice(idRank);
  return {
    outShape: [numSegments, ...innerShape],
    numIds: util.sizeFromShape(segmentIds.shape),
    inner: util.sizeFromShape(innerShape),
  };
}

/**
 * The scatter-add itself: out (zero-filled, numSegments × inner) += x rows by id. Ids are read as numbers whatever
 * their typed array.
 */
export function scatterAdd(
  xVals: TypedArray,
  ids: TypedArray,
  out: TypedArray,
  numSegments: number,
  inner: number,
): void {
  const numIds = ids.length;
  if (inner === 1) {
    for (let i = 0; i < numIds; i++) {
      const s = ids[i];
      if (s >= 0 && s < numSegments) out[s] += xVals[i];
    }
    return;
  }
  for (let i = 0; i < numIds; i++) {
    const s = ids[i];
    if (!(s >= 0 && s < numSegments)) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += xVals[src + j];
  }
}

/** Scatter-add on either CPU backend; `null` (fall back) for dtypes the typed-array path does not hold. */
export const unsortedSegmentSumImpl: KernelImpl = (args, store) => {
  const { x, segmentIds } = args.inputs;
  if (!x || !segmentIds) throw new MmctrError('unsortedSegmentSum: inputs x and segmentIds are required');
  if (!isNumeric(x.dtype)) return null;
  const numSegments = Number(args.attrs.numSegments);
  const { outShape, numIds, inner } = layout(x, segmentIds, numSegments);
  const out = store.alloc(outShape, sumOutType(x.dtype) as NumericDType);
  const outVals = store.values(out);
  outVals.fill(0);
  scatterAdd(store.values(x).subarray(0, numIds * inner), store.values(segmentIds), outVals, numSegments, inner);
  return out;
};

export const makeUnsortedSegmentSum = (backendName: CpuBackendName) => (original: KernelConfig | undefined) =>
  wrapKernel(UNSORTED_SEGMENT_SUM, backendName, unsortedSegmentSumImpl, original);
