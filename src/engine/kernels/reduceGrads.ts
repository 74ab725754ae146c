/**
 * Gradients of `Sum` and `Mean` without a host-built `ones`: dy (÷ n for the mean) broadcast to x's shape, one Tile.
 *
 * Why: tfjs-core computes `dy · ones(x.shape)` (÷ n), and `ones` is a JS array of x's size filled and copied into
 * the backend at every call — in the baseline DIN's step (tag pooling sums, batch-norm means, the loss mean) that
 * was ~100 ms of a ~1 s step on the native backend, more than the products it feeds. The values are the same
 * (dy·1 = dy exactly; dy·1/n = dy/n), so these are registered for every backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

/** dy [kept dims] → [x.shape], optionally ÷ n first. */
function spread(dy: Tensor, x: Tensor, attrs: NamedAttrMap, mean: boolean): Tensor {
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
  const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d)); // dy with the reduced axes kept as 1
  const reduceSize = axes.reduce((n, a) => n * x.shape[a], 1);
  const d = tf.reshape(dy, expanded);
  return tf.broadcastTo(mean ? tf.div(d, reduceSize) : d, x.shape);
}

export const sumGradConfig: GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => ({ x: () => spread(dy as Tensor, saved[0], attrs, false) }),
};

export const meanGradConfig: GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => ({ x: () => spread(dy as Tensor, saved[0], attrs, true) }),
};
