/**
 * `Transpose` for webgpu: a permutation that moves no data (it keeps the order of the axes longer than 1) shares the
 * input's buffer under the new shape, as `Reshape` does, instead of a copy dispatch.
 *
 * Why: the gradient of `gather` runs two such transposes per lookup (identity permutations around the
 * UnsortedSegmentSum), one of them over the whole embedding table; attention code transposes [b, 1, d] ↔ [b, d, 1].
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { movesNoData } from '../transpose';
import type { WebGpuBackendLike } from './program';

export const TRANSPOSE = 'Transpose';

export function makeTranspose(original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const perm = args.attrs?.perm as number[];
    if (x.dtype !== 'complex64' && x.dtype !== 'string' && movesNoData(x.shape, perm)) {
      (args.backend as WebGpuBackendLike).incRef(x.dataId);
      return { dataId: x.dataId, shape: perm.map((p) => x.shape[p]), dtype: x.dtype };
    }
    return original.kernelFunc(args);
  };
  return { ...original, kernelFunc };
}
