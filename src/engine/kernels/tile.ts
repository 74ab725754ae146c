/**
 * `Tile` as block copies (cpu, wasm) and a `Tile` gradient as one reshape + sum (all backends).
 *
 * Why: tiling the target item over the history ([batch, 1, emb] → [batch, hist, emb]) took ~140 ms on wasm
 * (~2 ms as block copies). tfjs-core's gradient slices dy once per repetition and adds the slices: 50 Slice + 50
 * Add kernels for a history of 50. Since tiled index o = r·x + i along each axis, dy reshaped to
 * [r0, x0, r1, x1, …] summed over the r axes is the gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { util, type GradConfig, type KernelConfig, type Tensor, type TensorInfo } from '@tensorflow/tfjs';
import { isNumeric, wrapKernel, type CpuBackendName, type KernelImpl } from './storage';

export const TILE = 'Tile';

export const tileImpl: KernelImpl = (args, store) => {
  const x = args.inputs.x as TensorInfo;
  const reps = args.attrs.reps as number[];
  if (!isNumeric(x.dtype) || reps.length !== x.shape.length) return null;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = store.alloc(outShape, x.dtype);
  if (util.sizeFromShape(outShape) === 0) return out;
  if (rank === 0) {
    store.values(out).set(store.values(x));
    return out;
  }
  const xVals = store.values(x);
  const outVals = store.values(out);
  const xStrides = [...util.computeStrides(x.shape), 1];
  const outStrides = [...util.computeStrides(outShape), 1];
  // Fill the block of repetition 0 along `dim` (recursing inward), then copy it reps[dim] − 1 times.
  const fill = (dim: number, xAt: number, outAt: number): void => {
    const n = x.shape[dim];
    if (dim === rank - 1) {
      outVals.set(xVals.subarray(xAt, xAt + n), outAt);
    } else {
      for (let i = 0; i < n; i++) fill(dim + 1, xAt + i * xStrides[dim], outAt + i * outStrides[dim]);
    }
    const block = n * outStrides[dim];
    for (let r = 1; r < reps[dim]; r++) outVals.copyWithin(outAt + r * block, outAt, outAt + block);
  };
  fill(0, 0, 0);
  return out;
};

export const makeTile = (backendName: CpuBackendName) => (original: KernelConfig | undefined) =>
  wrapKernel(TILE, backendName, tileImpl, original);

export const tileGradConfig: GradConfig = {
  kernelName: TILE,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const reps = attrs.reps as number[];
    return {
      x: () => {
        // Keep only axes that were repeated (r > 1) as separate [r, x] pairs.
        const shape: number[] = [];
        const sumAxes: number[] = [];
        x.shape.forEach((d, i) => {
          if (reps[i] > 1) {
            sumAxes.push(shape.length);
            shape.push(reps[i]);
          }
          shape.push(d);
        });
        const g = sumAxes.length > 0 ? tf.sum(tf.reshape(dy as Tensor, shape), sumAxes) : (dy as Tensor);
        return tf.reshape(g, x.shape);
      },
    };
  },
};
