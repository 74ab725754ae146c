/**
 * The one reusable layer check (DeepCTR's `layer_test`), run by every layer's test over a parameter grid:
 *  - output shape equals `computeOutputShape` (also with an unknown batch dimension);
 *  - the class is registered under its className, and getConfig → fromConfig → getConfig is the identity
 *    (also through JSON);
 *  - weights round-trip: a fresh instance (another seed) gives other outputs until it gets the first one's weights,
 *    then identical outputs;
 *  - save → load of a LayersModel holding the layer gives identical predictions (the tfjs serialisation path);
 *  - every trainable weight receives a gradient, all finite;
 *  - no leaked tensors across inference calls, training calls and gradient computations.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

export interface LayerCase {
  /** Label in the test name. */
  label: string;
  /** A new layer from args; the check creates several. */
  make: () => tf.layers.Layer;
  /** Fresh input tensors (the check disposes them). */
  inputs: () => tf.Tensor[];
  /** Pass inputs[0] alone rather than the list. Default false. */
  single?: boolean;
}

let backendReady: Promise<boolean> | undefined;
/** The JS cpu backend: the reference implementation, independent of the project's engine. */
export function useCpu(): Promise<boolean> {
  backendReady ??= tf.setBackend('cpu');
  return backendReady;
}

function asArg(c: LayerCase, ins: tf.Tensor[]): tf.Tensor | tf.Tensor[] {
  return c.single ? ins[0] : ins;
}

function shapesOf(c: LayerCase, ins: tf.Tensor[]): tf.Shape | tf.Shape[] {
  return c.single ? ins[0].shape : ins.map((t) => t.shape);
}

function withNullBatch(c: LayerCase, ins: tf.Tensor[]): tf.Shape | tf.Shape[] {
  const s = ins.map((t) => [null, ...t.shape.slice(1)]);
  return c.single ? s[0] : s;
}

function applyOne(layer: tf.layers.Layer, arg: tf.Tensor | tf.Tensor[], training = false): tf.Tensor {
  return layer.apply(arg, { training }) as tf.Tensor;
}

/** Sets every weight to new random values (trainable in [−1, 1], statistics in [0.5, 1.5]). */
export function randomizeWeights(layer: tf.layers.Layer, seed: number): void {
  const trainable = new Set(layer.trainableWeights.map((w) => w.name));
  const values = layer.weights.map((w, i) =>
    trainable.has(w.name)
      ? tf.randomUniform(w.shape as number[], -1, 1, 'float32', seed + i)
      : tf.randomUniform(w.shape as number[], 0.5, 1.5, 'float32', seed + i),
  );
  layer.setWeights(values);
  tf.dispose(values);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

export async function checkLayer(c: LayerCase): Promise<void> {
  await useCpu();
  const ins = c.inputs();
  const arg = asArg(c, ins);
  const layer = c.make();

  // Shapes.
  const out = applyOne(layer, arg);
  expect(out.shape).toEqual(layer.computeOutputShape(shapesOf(c, ins)));
  expect(layer.computeOutputShape(withNullBatch(c, ins))).toEqual([null, ...out.shape.slice(1)]);
  expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true);
  out.dispose();

  // Registration and config round trip.
  const className = layer.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  expect(entry, `${className} registered`).toBeDefined();
  expect(entry[0]).toBe(layer.constructor);
  const config = layer.getConfig();
  const fromJson = JSON.parse(JSON.stringify(config)) as tf.serialization.ConfigDict;
  expect(fromJson).toEqual(config);
  const clone = entry[1](entry[0], fromJson) as tf.layers.Layer;
  expect(clone.getConfig()).toEqual(config);

  // Weights round trip, on a fresh instance with another seed and random weights on the first.
  randomizeWeights(layer, 11);
  const fresh = entry[1](entry[0], { ...config, name: `${config.name}_fresh`, seed: 987 }) as tf.layers.Layer;
  const ref = applyOne(layer, arg);
  const before = applyOne(fresh, arg);
  if (layer.weights.length > 0) expect(maxAbsDiff(ref, before)).toBeGreaterThan(1e-6);
  fresh.setWeights(layer.getWeights());
  const after = applyOne(fresh, arg);
  expect(maxAbsDiff(ref, after)).toBe(0);
  tf.dispose([before, after]);

  // Save → load through a LayersModel (what registerClass is for).
  const symbolic = ins.map((t) => tf.input({ shape: t.shape.slice(1), dtype: t.dtype as 'float32' | 'int32' }));
  const hosted = entry[1](entry[0], { ...config, name: `${config.name}_hosted` }) as tf.layers.Layer;
  const symOut = hosted.apply(c.single ? symbolic[0] : symbolic) as tf.SymbolicTensor;
  const model = tf.model({ inputs: symbolic, outputs: symOut });
  hosted.setWeights(layer.getWeights());
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  const predicted = loaded.predict(ins) as tf.Tensor;
  expect(maxAbsDiff(ref, predicted)).toBe(0);
  tf.dispose([ref, predicted]);
  model.dispose();
  loaded.dispose();

  // Gradients reach every trainable weight.
  const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  if (variables.length > 0) {
    const { value, grads } = tf.variableGrads(() => tf.sum(applyOne(layer, arg, true)) as tf.Scalar, variables);
    expect(Object.keys(grads).sort()).toEqual(variables.map((v) => v.name).sort());
    for (const g of Object.values(grads)) expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    value.dispose();
    tf.dispose(grads);
  }

  // No leaks: inference, training (running statistics are rewritten in place), gradients.
  for (const training of [false, true]) {
    const n0 = tf.memory().numTensors;
    applyOne(layer, arg, training).dispose();
    expect(tf.memory().numTensors, `tensors after a call with training=${training}`).toBe(n0);
  }
  if (variables.length > 0) {
    const n0 = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(applyOne(layer, arg, true)) as tf.Scalar, variables);
    value.dispose();
    tf.dispose(grads);
    expect(tf.memory().numTensors, 'tensors after a gradient computation').toBe(n0);
  }

  layer.dispose();
  fresh.dispose();
  tf.dispose(ins);
}
