/**
 * The gradient of `Mean` without a host-built array: dy / n broadcast to x's shape (one Tile on a device backend).
 *
 * Why: tfjs-core's computes `dy · ones(x.shape) / n`, and `ones` is made on the host and uploaded at every step —
 * on webgpu a full-size host allocation and copy per `mean` in a training step. The arithmetic is the same (dy·1/n
 * is dy/n exactly), so this gradient is registered for every backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

export const MEAN = 'Mean';

export const meanGradConfig: GradConfig = {
  kernelName: MEAN,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const reduceSize = axes.reduce((n, a) => n * x.shape[a], 1);
    return {
      x: () => {
        const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d)); // dy with the reduced axes kept as 1
        const scaled = tf.div(tf.reshape(dy as Tensor, expanded), reduceSize);
        return tf.broadcastTo(scaled, x.shape);
      },
    };
  },
};
