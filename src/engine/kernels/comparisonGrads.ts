/**
 * Zero gradients for comparison and logical kernels (all backends).
 *
 * tfjs-core registers no gradient for `Greater`, `Less`, `Equal`, …, so a mask computed from a trained tensor
 * breaks backprop: `tf.where(x.greater(0), x, x.mul(a))` (PReLU/Dice written by hand) throws "Cannot compute
 * gradient: gradient function not found for Greater". These ops are piecewise constant: their gradient is zero
 * almost everywhere, which is what TensorFlow's "no gradient" means for the inputs upstream.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, Tensor } from '@tensorflow/tfjs';

/** The kernels given a zero gradient, each with its input names. */
export const ZERO_GRAD_KERNELS: ReadonlyArray<readonly [name: string, inputs: readonly string[]]> = [
  ['Greater', ['a', 'b']],
  ['GreaterEqual', ['a', 'b']],
  ['Less', ['a', 'b']],
  ['LessEqual', ['a', 'b']],
  ['Equal', ['a', 'b']],
  ['NotEqual', ['a', 'b']],
  ['LogicalAnd', ['a', 'b']],
  ['LogicalOr', ['a', 'b']],
  ['LogicalXor', ['a', 'b']],
  ['LogicalNot', ['x']],
  ['IsNan', ['x']],
  ['IsInf', ['x']],
  ['IsFinite', ['x']],
];

export function zeroGradConfig(kernelName: string, inputs: readonly string[]): GradConfig {
  return {
    kernelName,
    inputsToSave: [...inputs],
    gradFunc: (_dy, saved) =>
      Object.fromEntries(inputs.map((name, i) => [name, () => tf.zerosLike(saved[i] as Tensor)])),
  };
}
