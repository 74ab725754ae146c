/**
 * The fused mean BCE on logits on webgpu (src/engine/kernels/webgpu/bceLoss.ts) against
 * `tf.losses.sigmoidCrossEntropy` on cpu: value and gradient (rel. error ≤ 1e-4), large and small logits; one
 * dispatch forward, one backward. Tiny shapes (lavapipe).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { webGpuSigmoidCrossEntropy } from '../../src/engine/kernels/webgpu/bceLoss';
import { probeWebGpu } from '../../src/engine/webgpu';
import { countWebGpu } from '../../src/engine/webgpuCounters';
import { maxRelError, onBackend, useWebGpuSuite } from './webgpuHelpers';

const probe = await probeWebGpu();
if (!probe.adapter) console.warn(`[webgpu fused loss tests skipped] no WebGPU adapter: ${probe.reason}`);

const N = 1000;
const LOGITS = Float32Array.from({ length: N }, (_, i) => 30 * Math.sin(i * 0.7) ** 3);
const LABELS = Float32Array.from({ length: N }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));

async function lossAndGrad(fused: boolean): Promise<{ loss: number; grad: Float32Array }> {
  const labels = tf.tensor1d(LABELS);
  const logits = tf.tensor1d(LOGITS);
  const f = (x: tf.Tensor) => (fused ? webGpuSigmoidCrossEntropy(labels, x) : (tf.losses.sigmoidCrossEntropy(labels, x) as tf.Scalar));
  const { value, grad } = tf.valueAndGrad(f)(logits);
  const out = { loss: (await value.data())[0], grad: (await grad.data()) as Float32Array };
  tf.dispose([labels, logits, value, grad]);
  return out;
}

describe.skipIf(!probe.adapter)('fused BCE loss on webgpu', () => {
  useWebGpuSuite();

  it('matches tf.losses.sigmoidCrossEntropy on cpu: value and gradient', async () => {
    const want = await onBackend('cpu', () => lossAndGrad(false));
    const got = await onBackend('webgpu', () => lossAndGrad(true));
    expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThanOrEqual(1e-4);
    expect(maxRelError(got.grad, want.grad)).toBeLessThanOrEqual(1e-4);
  });

  it('1 dispatch forward, 1 backward', async () => {
    await onBackend('webgpu', async () => {
      const labels = tf.tensor1d(LABELS);
      const logits = tf.tensor1d(LOGITS);
      const { counts } = await countWebGpu(() => tf.valueAndGrad((x: tf.Tensor) => webGpuSigmoidCrossEntropy(labels, x))(logits));
      expect(counts.dispatches).toBe(2);
      tf.dispose([labels, logits]);
    });
  });
});
