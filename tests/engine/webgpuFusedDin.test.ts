/**
 * The fused DIN ops on webgpu against the same arithmetic in tfjs ops on cpu, values and gradients (relative error
 * ≤ 1e-4), at shapes past one gemm tile (64) in every dimension and past one split of the K range (1,024), plus
 * their dispatch counts:
 * - webGpuDinFirstLinear (kernels/webgpu/dinFirstLinear.ts): z = [t, h, t − h, t ⊙ h] · W;
 * - webGpuItemEncode (itemEncoder.ts): [idTable[id] ‖ masked mean of tag rows ‖ vectors[id] · P], zero at padding;
 * - webGpuFeatureConcat (featureConcat.ts): [T_1[ids_1] ‖ T_2[ids_2] ‖ X_1 ‖ X_2];
 * - webGpuNarrowLinear (narrowLinear.ts): x · W + b with a narrow output;
 * - webGpuMlp (mlp.ts), through an MlpBlock in training mode (BN, ReLU, dropout 0.2, two outputs): outputs, the
 *   gradients of the input and every weight, and the running statistics after the step, against the layers on cpu;
 * - webGpuDinBlock (dinBlock.ts), through a DIN model in training mode with two attention layers and dropout: logits,
 *   loss and the gradient of every variable against the layers on cpu with the same op seeds (same dropout masks).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { dinBlockChunkRows, dinBlockOptions } from '../../src/engine/kernels/webgpu/dinBlock';
import { webGpuDinFirstLinear } from '../../src/engine/kernels/webgpu/dinFirstLinear';
import { webGpuFeatureConcat } from '../../src/engine/kernels/webgpu/featureConcat';
import { webGpuItemEncode } from '../../src/engine/kernels/webgpu/itemEncoder';
import { webGpuNarrowLinear } from '../../src/engine/kernels/webgpu/narrowLinear';
import { allocOnGpu } from '../../src/engine/kernels/webgpu/raw';
import { probeWebGpu } from '../../src/engine/webgpu';
import { countWebGpu } from '../../src/engine/webgpuCounters';
import { createModel, type CtrModel } from '../../src/models';
import { MlpBlock } from '../../src/models/layers';
import { seedRandomOps } from '../../src/util/opSeeds';
import { disposeInputs, inputsOf, makeRows, tinyItemTable, type TinyShape } from '../models/synthetic';
import { type TrainingPass, cpuReference, maxRelError, onBackend, trainingPass, useWebGpuSuite, withWeights } from './webgpuHelpers';

const probe = await probeWebGpu();
if (!probe.adapter) console.warn(`[webgpu fused DIN tests skipped] no WebGPU adapter: ${probe.reason}`);

const TOL = 1e-4;
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3 + 0.01 * i * i));

interface Result {
  y: Float32Array;
  grads: Float32Array[];
}

/** y = f(inputs) and the gradients of Σ y·r with respect to `inputs`, read back. */
async function valueAndGrads(f: (...x: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): Promise<Result> {
  let y: tf.Tensor | undefined;
  const g = tf.grads((...x: tf.Tensor[]) => {
    const v = f(...x);
    y = tf.keep(v.clone());
    return tf.sum(tf.mul(v, tf.tensor(values(v.size, 9), v.shape)));
  })(inputs);
  const out = { y: (await y!.data()) as Float32Array, grads: await Promise.all(g.map(async (t) => (await t.data()) as Float32Array)) };
  tf.dispose([y!, ...g]);
  return out;
}

function expectClose(got: Result, want: Result): void {
  expect(maxRelError(got.y, want.y)).toBeLessThanOrEqual(TOL);
  expect(got.grads.length).toBe(want.grads.length);
  got.grads.forEach((g, i) => expect(maxRelError(g, want.grads[i]), `gradient ${i}`).toBeLessThanOrEqual(TOL));
}

// First linear: b·L = 1,200 positions (two K splits of the weight gradient), D = 24, units 80 (two column tiles).
const B = 40;
const L = 30;
const D = 24;
const UNITS = 80;

function firstLinearInputs(): tf.Tensor[] {
  return [tf.tensor2d(values(B * D, 1), [B, D]), tf.tensor3d(values(B * L * D, 2), [B, L, D]), tf.tensor2d(values(4 * D * UNITS, 3), [4 * D, UNITS]).mul(0.3)];
}

function firstLinearReference(t: tf.Tensor, h: tf.Tensor, w: tf.Tensor): tf.Tensor {
  const tt = tf.broadcastTo(tf.expandDims(t, 1), [B, L, D]);
  const x = tf.concat([tt, h, tf.sub(tt, h), tf.mul(tt, h)], -1).reshape([B * L, 4 * D]);
  return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
}

// Item encoder: 3,000 items (scatter into a table larger than the work per dispatch), tags of 5, repeated ids.
const ITEMS = 3000;
const TAGS = 5;
const TAG_ROWS = 50;
const E = 8;
const DV = 20;
const P = 70;
const IDS = Int32Array.from({ length: 900 }, (_, i) => (i % 11 === 0 ? 0 : 1 + ((i * 37) % 400)));
const LISTS = Int32Array.from({ length: ITEMS * TAGS }, (_, i) => {
  const item = Math.floor(i / TAGS);
  const slot = i % TAGS;
  if (item === 0 || slot < item % 4) return 0; // left padding; item 0 is the padding row
  return 1 + ((item * 7 + slot * 3) % (TAG_ROWS - 1));
});

function encoderInputs(): tf.Tensor[] {
  return [tf.tensor2d(values(ITEMS * E, 4), [ITEMS, E]), tf.tensor2d(values(TAG_ROWS * E, 5), [TAG_ROWS, E]), tf.tensor2d(values(DV * P, 6), [DV, P]).mul(0.2)];
}

function encoderReference(idT: tf.Tensor, tagT: tf.Tensor, proj: tf.Tensor, vectors: tf.Tensor, lists: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const valid = tf.cast(tf.greater(ids, 0), 'float32').expandDims(-1);
  const idPart = tf.gather(idT, ids);
  const tagIds = tf.gather(lists, ids); // [n, T]
  const tagMask = tf.cast(tf.greater(tagIds, 0), 'float32').expandDims(-1);
  const tagSum = tf.sum(tf.mul(tf.gather(tagT, tagIds), tagMask), 1);
  const tagPart = tf.div(tagSum, tf.maximum(tf.sum(tagMask, 1), 1));
  const vecPart = tf.matMul(tf.gather(vectors, ids) as tf.Tensor2D, proj as tf.Tensor2D);
  return tf.mul(tf.concat([idPart, tagPart, vecPart], -1), valid);
}

// DIN block: D = 8 + 8 + 16 = 32 (4D + 1 = 129: two tiles of 128), attention 144 → 136 (two tiles of 64 and of 128
// each), b·L = 24 · 50 = 1,200 (two K splits).
const DIN_SHAPE: TinyShape = { items: 300, tags: 12, embDim: 8, seqLen: 50 };
const DIN_ARGS = { embeddingDim: 8, pretrainedDim: 16, attentionUnits: [144, 136], attentionDropout: 0.2, dnnUnits: [16], batchNorm: false, dropout: 0 };
const DIN_ROWS = 24;
const dinRows = makeRows(DIN_ROWS, 'inHistory', 'fused-din', DIN_SHAPE);
const dinTable = tinyItemTable(DIN_SHAPE);

type DinPass = TrainingPass;

/** One training-mode forward + backward of `model` on the rows (seeded dropout), read back. */
async function dinPass(model: CtrModel): Promise<DinPass> {
  const x = inputsOf(dinRows, 0, DIN_ROWS, DIN_SHAPE.seqLen);
  try {
    return await trainingPass(model, x, dinRows.label, 'fused-din');
  } finally {
    disposeInputs(x);
  }
}

/** The weights of the reference model (seed 3), by key. */
let dinWeights: Map<string, Float32Array> | undefined;

/** The pass through the unfused layers on cpu (whose weights `dinModel` copies). */
async function dinCpuReference(): Promise<DinPass> {
  const ref = await cpuReference(() => createModel('din', DIN_ARGS, dinTable, { seed: 3 }), dinPass);
  dinWeights = ref.weights;
  return ref.result;
}

/** A DIN model on the active backend with the reference model's weights. */
function dinModel(): CtrModel {
  return withWeights(createModel('din', DIN_ARGS, dinTable, { seed: 3 }), dinWeights!);
}

function expectSameBits(again: DinPass, first: DinPass): void {
  expect(Array.from(again.logits)).toEqual(Array.from(first.logits));
  for (const [k, g] of first.grads) expect(Array.from(again.grads.get(k)!), `bits of ${k}`).toEqual(Array.from(g));
}

function expectDinClose(got: DinPass, want: DinPass): void {
  expect(maxRelError(got.logits, want.logits)).toBeLessThanOrEqual(TOL);
  expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss)).toBeLessThanOrEqual(TOL);
  expect([...got.grads.keys()]).toEqual([...want.grads.keys()]);
  for (const [k, g] of want.grads) {
    const floor = 1e-6 * g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxRelError(got.grads.get(k)!, g, floor), `gradient of ${k}`).toBeLessThanOrEqual(TOL);
  }
}

/** Dispatches of the fused block's programs in one forward + backward of `model`. */
async function dinBlockDispatches(model: CtrModel): Promise<number> {
  const x = inputsOf(dinRows, 0, DIN_ROWS, DIN_SHAPE.seqLen);
  const vars = [...model.namedWeights()].filter(([, v]) => v.trainable).map(([, v]) => v);
  const counted = await countWebGpu(() => tf.variableGrads(() => tf.sum(model.call(x, true)) as tf.Scalar, vars));
  const block = Object.entries(counted.counts.byProgram).filter(([k]) => k.startsWith('mmctrDinBlock'));
  tf.dispose([counted.result.value, ...Object.values(counted.result.grads)]);
  disposeInputs(x);
  return block.reduce((n, [, v]) => n + v, 0);
}

describe.skipIf(!probe.adapter)('fused DIN ops on webgpu', () => {
  useWebGpuSuite();

  it('DIN first linear: z and the gradients of t, H and W match cpu; 2 dispatches forward, 3 backward', async () => {
    const want = await onBackend('cpu', () => valueAndGrads(firstLinearReference, firstLinearInputs()));
    await onBackend('webgpu', async () => {
      const inputs = firstLinearInputs();
      const f = (t: tf.Tensor, h: tf.Tensor, w: tf.Tensor) => webGpuDinFirstLinear(t as tf.Tensor2D, h as tf.Tensor3D, w as tf.Tensor2D);
      expectClose(await valueAndGrads(f, inputs), want);
      const fwd = await countWebGpu(() => f(inputs[0], inputs[1], inputs[2]));
      expect(fwd.counts.dispatches).toBe(2);
      const both = await countWebGpu(() => tf.grads((t: tf.Tensor, h: tf.Tensor, w: tf.Tensor) => tf.sum(f(t, h, w)))(inputs));
      expect(both.counts.dispatches - 2).toBeLessThanOrEqual(3 + 2); // + the sum and its gradient
      tf.dispose([fwd.result, ...both.result, ...inputs]);
    });
  });

  it('item encoder: vectors and the gradients of the id table, tag table and projection match cpu; padding rows get none', async () => {
    const frozen = () => [tf.tensor2d(values(ITEMS * DV, 7), [ITEMS, DV]), tf.tensor2d(LISTS, [ITEMS, TAGS], 'int32'), tf.tensor1d(IDS, 'int32')];
    const want = await onBackend('cpu', () => {
      const [vectors, lists, ids] = frozen();
      return valueAndGrads((a, b, c) => encoderReference(a, b, c, vectors, lists, ids), encoderInputs());
    });
    await onBackend('webgpu', async () => {
      const [vectors, lists, ids] = frozen();
      const f = (idTable: tf.Tensor, tagTable: tf.Tensor, projection: tf.Tensor) => webGpuItemEncode(ids, { idTable, tagLists: lists, tagTable, vectors, projection });
      const got = await valueAndGrads(f, encoderInputs());
      expectClose(got, want);
      expect(Array.from(got.grads[0].subarray(0, E))).toEqual(new Array(E).fill(0)); // padding row of the id table
      expect(Array.from(got.grads[1].subarray(0, E))).toEqual(new Array(E).fill(0)); // padding row of the tag table
      const inputs = encoderInputs();
      const both = await countWebGpu(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(f(a, b, c)))(inputs));
      expect(both.counts.byProgram.mmctrItemEncode).toBe(1);
      expect(both.counts.byProgram.mmctrItemEncodeGradInit).toBe(1);
      expect(both.counts.byProgram.mmctrItemEncodeGradScatter).toBe(1);
      tf.dispose([...both.result, ...inputs, vectors, lists, ids]);
    });
  });

  it('item encoder with distinct ids known on the host: the same values and gradients, 2 backward dispatches, the same bits twice', async () => {
    const distinct = Int32Array.from({ length: 700 }, (_, i) => (i % 50 === 7 ? 0 : 1 + ((i * 613) % (ITEMS - 1)))); // a permutation stride: no repeats
    expect(new Set(Array.from(distinct).filter((x) => x > 0)).size).toBe(distinct.filter((x) => x > 0).length);
    const frozen = () => [tf.tensor2d(values(ITEMS * DV, 7), [ITEMS, DV]), tf.tensor2d(LISTS, [ITEMS, TAGS], 'int32'), tf.tensor1d(distinct, 'int32')];
    const want = await onBackend('cpu', () => {
      const [vectors, lists, ids] = frozen();
      return valueAndGrads((a, b, c) => encoderReference(a, b, c, vectors, lists, ids), encoderInputs());
    });
    await onBackend('webgpu', async () => {
      const [vectors, lists, ids] = frozen();
      const f = (idTable: tf.Tensor, tagTable: tf.Tensor, projection: tf.Tensor) =>
        webGpuItemEncode(ids, { idTable, tagLists: lists, tagTable, vectors, projection }, { ids: distinct, tagLists: LISTS });
      const first = await valueAndGrads(f, encoderInputs());
      expectClose(first, want);
      const second = await valueAndGrads(f, encoderInputs());
      second.grads.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(first.grads[i])));
      const inputs = encoderInputs();
      const both = await countWebGpu(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(f(a, b, c)))(inputs));
      expect(both.counts.byProgram.mmctrItemEncodeGradHost).toBe(1);
      expect(both.counts.byProgram.mmctrItemEncodeGradHostW).toBe(1);
      expect(both.counts.byProgram.mmctrItemEncodeGradInit).toBeUndefined();
      tf.dispose([...both.result, ...inputs, vectors, lists, ids]);
    });
  });

  it('feature concat: [T1[ids1] ‖ T2[ids2] ‖ X1 ‖ X2] and every gradient match cpu; 1 dispatch each way', async () => {
    const b = 300;
    const ids1 = Int32Array.from({ length: b }, (_, i) => i % 11);
    const ids2 = Int32Array.from({ length: b }, (_, i) => (i * 3) % 11);
    const make = () => [tf.tensor2d(values(11 * 6, 1), [11, 6]), tf.tensor2d(values(11 * 6, 2), [11, 6]), tf.tensor2d(values(b * 70, 3), [b, 70]), tf.tensor2d(values(b * 9, 4), [b, 9])];
    const want = await onBackend('cpu', () => {
      const i1 = tf.tensor1d(ids1, 'int32');
      const i2 = tf.tensor1d(ids2, 'int32');
      const lookup = (t: tf.Tensor, i: tf.Tensor) => tf.mul(tf.gather(t, i), tf.cast(tf.greater(i, 0), 'float32').expandDims(-1));
      return valueAndGrads((t1, t2, x1, x2) => tf.concat([lookup(t1, i1), lookup(t2, i2), x1, x2], -1), make());
    });
    await onBackend('webgpu', async () => {
      const i1 = tf.tensor1d(ids1, 'int32');
      const i2 = tf.tensor1d(ids2, 'int32');
      const f = (t1: tf.Tensor, t2: tf.Tensor, x1: tf.Tensor, x2: tf.Tensor) => webGpuFeatureConcat([{ table: t1, ids: i1 }, { table: t2, ids: i2 }], [x1, x2]);
      expectClose(await valueAndGrads(f, make()), want);
      const inputs = make();
      const both = await countWebGpu(() => tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor) => tf.sum(f(a, c, d, e)))(inputs));
      expect(both.counts.byKernel['raw:mmctrFeatureConcat'] ?? both.counts.byProgram.mmctrFeatureConcat_2_2).toBe(1);
      expect(both.counts.byProgram.mmctrFeatureConcatGrad_2_2).toBe(1);
      tf.dispose([...both.result, ...inputs, i1, i2]);
    });
  });

  it('narrow linear: x · W + b and the gradients of x, W and b match cpu; 1 dispatch each way', async () => {
    const rows = 700;
    const k = 90;
    const make = () => [tf.tensor2d(values(rows * k, 1), [rows, k]), tf.tensor2d(values(k * 3, 2), [k, 3]), tf.tensor1d(values(3, 3))];
    const want = await onBackend('cpu', () => valueAndGrads((x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b), make()));
    await onBackend('webgpu', async () => {
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => webGpuNarrowLinear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D);
      expectClose(await valueAndGrads(f, make()), want);
      const inputs = make();
      const both = await countWebGpu(() => tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(f(x, w, b)))(inputs));
      expect(both.counts.byProgram.mmctrNarrowLinear).toBe(1);
      expect(both.counts.byProgram.mmctrNarrowLinearGrad).toBe(1);
      tf.dispose([...both.result, ...inputs]);
    });
  });

  it('DIN block: a DIN training pass (2 attention layers, dropout 0.2) matches the unfused layers on cpu, bit for bit twice, 12 block dispatches', async () => {
    const want = await dinCpuReference();
    await onBackend('webgpu', async () => {
      const model = dinModel();
      const got = await dinPass(model);
      // No float atomics anywhere in the step (item encoder with distinct ids, block, MLP): the same bits again.
      expectSameBits(await dinPass(model), got);
      expectDinClose(got, want);
      expect(await dinBlockDispatches(model)).toBe(12);
      model.dispose();
    });
  });

  it('DIN block in chunks of batch rows (a storage-binding limit of 5 rows): the unchunked forward bit for bit, gradients within 1e-4 of cpu, the same bits twice, 3 + 9 · 5 block dispatches', async () => {
    const want = await dinCpuReference();
    await onBackend('webgpu', async () => {
      const model = dinModel();
      const whole = await dinPass(model);
      // Widest per-position buffer: z1 [b·L, 144] → 50 · 144 · 4 bytes per batch row; 5 rows fit → chunks of 5, 5, 5, 5, 4.
      dinBlockOptions.maxBindingBytes = 5 * DIN_ARGS.attentionUnits[0] * DIN_SHAPE.seqLen * 4;
      try {
        expect(dinBlockChunkRows(DIN_ROWS, DIN_SHAPE.seqLen, 144, dinBlockOptions.maxBindingBytes)).toBe(5);
        const got = await dinPass(model);
        expectSameBits(await dinPass(model), got);
        expectDinClose(got, want);
        // Per element the forward sums in the same order in every chunk (only the weight-gradient slices and dV's
        // order of positions change): logits, loss, the output network's and the context tables' gradients are
        // the unchunked block's bits; every other gradient within 1e-5 of them.
        expect(Array.from(got.logits)).toEqual(Array.from(whole.logits));
        expect(got.loss).toBe(whole.loss);
        for (const [k, g] of whole.grads) {
          if (/^(dnn|likes_level|views_level|attention\/output)\//.test(k)) expect(Array.from(got.grads.get(k)!), `bits of ${k}`).toEqual(Array.from(g));
          const floor = 1e-6 * g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expect(maxRelError(got.grads.get(k)!, g, floor), `gradient of ${k} against the unchunked block`).toBeLessThanOrEqual(1e-5);
        }
        expect(await dinBlockDispatches(model)).toBe(3 + 9 * 5);
      } finally {
        delete dinBlockOptions.maxBindingBytes;
        model.dispose();
      }
    });
  });

  it('MLP: BN → ReLU → dropout ×2 → Linear(2) in training matches the layers on cpu, running stats too; 5 + 4 dispatches', async () => {
    const rows = 300;
    const k = 90;
    const args = { hiddenUnits: [70, 40], batchNorm: true, dropoutRate: 0.2, outputDim: 2, seed: 11 };
    const xData = values(rows * k, 5);
    const run = async () => {
      const block = new MlpBlock({ ...args, name: 'mlp' });
      const x = tf.tensor2d(xData, [rows, k]);
      block.apply(x, { training: false }); // build
      const trainable = block.trainableWeights.map((w) => w.read() as tf.Variable);
      seedRandomOps('fused-mlp');
      let y: tf.Tensor | undefined;
      const g = tf.grads((xv: tf.Tensor, ...ws: tf.Tensor[]) => {
        void ws;
        const out = block.apply(xv, { training: true }) as tf.Tensor;
        y = tf.keep(out.clone());
        return tf.sum(tf.mul(out, tf.tensor(values(out.size, 9), out.shape)));
      })([x, ...trainable]);
      seedRandomOps(null);
      const read = async (t: tf.Tensor) => (await t.data()) as Float32Array;
      const out = {
        names: ['input', ...block.trainableWeights.map((w) => w.originalName)],
        y: await read(y!),
        grads: await Promise.all(g.map(read)),
        state: await Promise.all(block.getWeights().filter((_, i) => !block.weights[i].trainable).map(read)),
      };
      tf.dispose([x, y!, ...g]);
      block.dispose();
      return out;
    };
    const want = await onBackend('cpu', run);
    const got = await onBackend('webgpu', run);
    expect(maxRelError(got.y, want.y)).toBeLessThanOrEqual(TOL);
    expect(got.grads.length).toBe(want.grads.length);
    // The bias before a batch norm has a zero gradient (it cancels in z − μ): cpu's is rounding noise around 0, the
    // fused op's exactly 0. Every other gradient: relative error ≤ 1e-4.
    const largest = Math.max(...want.grads.map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    got.grads.forEach((g, i) => {
      const name = want.names[i];
      if (/dense_\d+\/bias/.test(name)) {
        expect(Array.from(g).every((v) => v === 0), `${name} is exactly zero`).toBe(true);
        expect(maxRelError(want.grads[i], new Float32Array(g.length)), `${name} on cpu is noise`).toBeLessThanOrEqual(1e-5 * largest);
        return;
      }
      const floor = 1e-6 * want.grads[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxRelError(g, want.grads[i], floor), `gradient of ${name}`).toBeLessThanOrEqual(TOL);
    });
    expect(got.state.length).toBe(4); // running mean and variance of both layers
    got.state.forEach((s, i) => expect(maxRelError(s, want.state[i]), `running stat ${i}`).toBeLessThanOrEqual(TOL));
    await onBackend('webgpu', async () => {
      const block = new MlpBlock({ ...args, name: 'mlp2' });
      const x = tf.tensor2d(xData, [rows, k]);
      block.apply(x, { training: false });
      const counted = await countWebGpu(() => tf.grads((xv: tf.Tensor) => tf.sum(block.apply(xv, { training: true }) as tf.Tensor))([x]));
      const mlp = Object.entries(counted.counts.byProgram).filter(([p]) => p.startsWith('mmctrMlp'));
      expect(mlp.reduce((n, [, v]) => n + v, 0)).toBe(5 + 4);
      tf.dispose([x, ...counted.result]);
      block.dispose();
    });
  });

  it('a per-step tensor past the device storage-buffer limit is a clear error naming the shape and the remedy', async () => {
    await onBackend('webgpu', () => {
      expect(() => allocOnGpu([1 << 20, 1 << 12])).toThrow(/tensor of shape \[1048576,4096\] needs 16\.00 GiB, above this device's storage-buffer limit .*smaller --batch-size/);
    });
  });
});
