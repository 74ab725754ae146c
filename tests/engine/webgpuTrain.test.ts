/**
 * Training on `webgpu`: DIN (tiny args) for a few Adam steps (the trainer's own `lossAndGradients` + `Adam` in
 * `tensor` mode) on the first batch of data/tiny; the loss on that batch must fall, and the steps must keep no
 * tensors. Skipped only when no WebGPU adapter exists (CI has lavapipe, environment/mesa.sh).
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { iterateBatches } from '../../src/data/batches';
import { selectBackend } from '../../src/engine/backend';
import { probeWebGpu, webGpuErrors } from '../../src/engine/webgpu';
import { createModel } from '../../src/models';
import { Adam, lossAndGradients, loadTrainingData } from '../../src/train';
import { TINY_ARGS } from '../models/tinyArgs';

const ROOT = path.resolve(__dirname, '../../data/tiny');
const probe = await probeWebGpu();
if (!probe.adapter) console.warn(`[webgpu training test skipped] no WebGPU adapter: ${probe.reason}`);

describe.skipIf(!probe.adapter)('training on webgpu', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
    expect(webGpuErrors(), 'uncaptured WebGPU errors').toEqual([]);
  });

  it('DIN on data/tiny: the loss of a batch falls over 6 Adam steps, no tensors kept', async () => {
    const data = await loadTrainingData(ROOT, { seqLen: 16 });
    await selectBackend({ quiet: true, force: 'webgpu' });
    const model = createModel('din', TINY_ARGS.din, data.itemTable, { seed: 5 });
    const vars = [...model.embeddingVariables(), ...model.networkVariables()];
    const adam = new Adam(vars, vars.map((v) => v.name), { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    expect(adam.mode).toBe('tensor');
    const batch = iterateBatches(data.train, { batchSize: 128 }).next().value!;
    const losses: number[] = [];
    let tensorsAfterFirst = 0;
    for (let step = 0; step < 6; step++) {
      const { loss, grads } = lossAndGradients(model, batch, vars);
      losses.push((await loss.data())[0]);
      await adam.apply(grads, { learningRate: 1e-2, l2: vars.map(() => 0), maxGradNorm: 10 });
      tf.dispose([loss, ...grads]);
      if (step === 0) tensorsAfterFirst = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[5]).toBeLessThan(losses[0] - 0.01);
    adam.dispose();
    model.dispose();
  });
});
