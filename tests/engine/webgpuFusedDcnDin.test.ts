/**
 * The fused DIN block with Dice (kernels/webgpu/dinBlock.ts, `dice`) and the fused Dice DNN (kernels/webgpu/mlp.ts,
 * Linear → BN → Dice → dropout, no output layer) through a dcnDin model in training mode on webgpu, against the unfused layers on cpu with the same weights and op seeds (same dropout masks): logits, loss,
 * the gradient of every variable (Dice α included) and the Dice running statistics after the step, relative error
 * ≤ 1e-4; the same bits on a second run; the block's dispatch count; and the same in chunks of batch rows (a
 * storage-binding limit forced down to 5 rows), where the statistics run over the chunks' slices; and the fused
 * CrossNet v1 (kernels/webgpu/crossNet.ts) alone at a width past one element per thread.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { dinBlockChunkRows, dinBlockOptions } from '../../src/engine/kernels/webgpu/dinBlock';
import { probeWebGpu } from '../../src/engine/webgpu';
import { countWebGpu } from '../../src/engine/webgpuCounters';
import { createModel, type CtrModel } from '../../src/models';
import { CrossNet } from '../../src/models/layers';
import { disposeInputs, inputsOf, makeRows, tinyItemTable, type TinyShape } from '../models/synthetic';
import { type TrainingPass, cpuReference, maxRelError, onBackend, trainingPass, useWebGpuSuite, withWeights } from './webgpuHelpers';

const probe = await probeWebGpu();
if (!probe.adapter) console.warn(`[webgpu fused dcnDin tests skipped] no WebGPU adapter: ${probe.reason}`);

const TOL = 1e-4;
// D = 8 + 8 + 16 = 32; attention 144 → 136 (two column tiles each), b·L = 24 · 50 = 1,200 positions (two K splits,
// 19 statistics slices); Dice in the attention and the DNN, BN, dropout everywhere.
const SHAPE: TinyShape = { items: 300, tags: 12, embDim: 8, seqLen: 50 };
const ARGS = {
  embeddingDim: 8,
  pretrainedDim: 16,
  attentionUnits: [144, 136],
  attentionDropout: 0.2,
  crossLayers: 2,
  dnnUnits: [32, 16],
  dropout: 0.1,
};
const ROWS = 24;
/** Biases followed by a batch norm (their gradient is 0 up to rounding). */
const BN_BIAS = /^dnn\/dense_\d+\/bias$/;
const rows = makeRows(ROWS, 'inHistory', 'fused-dcn-din', SHAPE);
const table = tinyItemTable(SHAPE);

type Pass = TrainingPass;

async function pass(model: CtrModel): Promise<Pass> {
  const x = inputsOf(rows, 0, ROWS, SHAPE.seqLen);
  try {
    return await trainingPass(model, x, rows.label, 'fused-dcn-din');
  } finally {
    disposeInputs(x);
  }
}

let weights: Map<string, Float32Array> | undefined;

async function cpuPass(): Promise<Pass> {
  const ref = await cpuReference(() => createModel('dcnDin', ARGS, table, { seed: 5 }), pass);
  weights = ref.weights;
  return ref.result;
}

function webGpuModel(): CtrModel {
  return withWeights(createModel('dcnDin', ARGS, table, { seed: 5 }), weights!);
}

/** Resets the running statistics to the reference's start (each pass updates them). */
function resetState(model: CtrModel): void {
  for (const [key, v] of model.namedWeights()) if (!v.trainable) v.assign(tf.tensor(weights!.get(key)!, v.shape, v.dtype));
}

function expectClose(got: Pass, want: Pass, tol = TOL): void {
  expect(maxRelError(got.logits, want.logits)).toBeLessThanOrEqual(tol);
  expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss)).toBeLessThanOrEqual(tol);
  expect([...got.grads.keys()]).toEqual([...want.grads.keys()]);
  const largest = Math.max(...[...want.grads.values()].map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
  const errors = [...want.grads].map(([k, g]) => {
    // The DNN's bias before its batch norm cancels in z − μ: its gradient is rounding noise around 0 on both sides.
    if (BN_BIAS.test(k)) return [k, maxRelError(got.grads.get(k)!, new Float32Array(g.length), 1e-5 * largest) + maxRelError(g, new Float32Array(g.length), 1e-5 * largest)] as const;
    const floor = 1e-6 * g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return [k, maxRelError(got.grads.get(k)!, g, floor)] as const;
  });
  for (const [k, err] of errors) expect(err, `gradient of ${k} (all: ${errors.map(([n, e]) => `${n} ${e.toExponential(1)}`).join(', ')})`).toBeLessThanOrEqual(BN_BIAS.test(k) ? 2 : tol);
  expect([...got.state.keys()]).toEqual([...want.state.keys()]);
  // The step's change of each running statistic (momentum · (batch − running): the initial value would hide an
  // error in the batch term). Floor 1e-4: the DNN's Dice running mean is that of a batch norm's output, whose
  // batch mean is 0 up to rounding (a change of about 1e-9 here; the others change by 1e-3 to 1e-2).
  const delta = (k: string, v: Float32Array) => v.map((x, i) => x - weights!.get(k)![i]);
  for (const [k, s] of want.state) expect(maxRelError(delta(k, got.state.get(k)!), delta(k, s), 1e-4), `state ${k}`).toBeLessThanOrEqual(tol);
}

function expectSameBits(again: Pass, first: Pass): void {
  expect(Array.from(again.logits)).toEqual(Array.from(first.logits));
  for (const [k, g] of first.grads) expect(Array.from(again.grads.get(k)!), `bits of ${k}`).toEqual(Array.from(g));
}

/** Dispatches in one forward + backward of `model`: the DIN block's, the Dice MLP's, all. */
async function dispatches(model: CtrModel): Promise<{ block: number; mlp: number; cross: number; all: number }> {
  const x = inputsOf(rows, 0, ROWS, SHAPE.seqLen);
  const vars = [...model.namedWeights()].filter(([, v]) => v.trainable).map(([, v]) => v);
  const counted = await countWebGpu(() => tf.variableGrads(() => tf.sum(model.call(x, true)) as tf.Scalar, vars));
  const sum = (prefix: string) => Object.entries(counted.counts.byProgram).filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
  tf.dispose([counted.result.value, ...Object.values(counted.result.grads)]);
  disposeInputs(x);
  return { block: sum('mmctrDinBlock'), mlp: sum('mmctrMlp'), cross: sum('mmctrCrossNet'), all: counted.counts.dispatches };
}

describe.skipIf(!probe.adapter)('fused dcnDin (DIN block with Dice) on webgpu', () => {
  useWebGpuSuite();

  it('a dcnDin training pass (Dice attention 144 → 136, Dice DNN 32 → 16 with BN, dropout) matches the layers on cpu, running stats too; the same bits twice; 21 block + 9 DNN + 3 CrossNet dispatches', async () => {
    const want = await cpuPass();
    expect([...want.grads.keys()].filter((k) => /attention\/dense_\d\/dice_alpha/.test(k)).length).toBe(2);
    await onBackend('webgpu', async () => {
      const model = webGpuModel();
      const got = await pass(model);
      expectClose(got, want);
      resetState(model);
      expectSameBits(await pass(model), got);
      const n = await dispatches(model);
      expect(n.block).toBe(7 + 14);
      expect(n.mlp).toBe(2 * 2 + 1 + 2 * 2); // per Dice layer Gemm + Stats, then Act; per layer Sums + Dual
      expect(n.cross).toBe(3);
      console.log(`[dcnDin fused] dispatches per forward + backward: ${n.all} (block ${n.block}, DNN ${n.mlp}, CrossNet ${n.cross})`);
      model.dispose();
    });
  });

  it('CrossNet (3 layers, width 600: 3 elements per thread): x_L and the gradients of x0, every w and b match cpu; 1 + 2 dispatches', async () => {
    const rowsN = 70;
    const d = 600;
    const make = () => {
      const layer = new CrossNet({ name: 'cross', numLayers: 3, seed: 4 });
      const x = tf.tensor2d(Float32Array.from({ length: rowsN * d }, (_, i) => Math.sin(i * 0.37) * 0.5), [rowsN, d]);
      layer.apply(x, { training: false }); // build
      const ws = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      // The biases start at 0: give them values so that their part of x_l is checked.
      ws.forEach((w, i) => { if (/\/b$/.test(layer.trainableWeights[i].originalName)) w.assign(tf.mul(tf.sin(tf.range(0, d)), 0.1 * (i + 1)) as tf.Tensor1D); });
      return { layer, x, ws };
    };
    const run = async () => {
      const { layer, x, ws } = make();
      const r = tf.tensor(Float32Array.from({ length: rowsN * d }, (_, i) => Math.cos(i * 0.11)), [rowsN, d]);
      let y: tf.Tensor | undefined;
      const g = tf.grads((xv: tf.Tensor, ...rest: tf.Tensor[]) => {
        void rest;
        const out = layer.apply(xv, { training: true }) as tf.Tensor;
        y = tf.keep(out.clone());
        return tf.sum(tf.mul(out, r));
      })([x, ...ws]);
      const out = { y: (await y!.data()) as Float32Array, grads: await Promise.all(g.map(async (t) => (await t.data()) as Float32Array)) };
      tf.dispose([x, r, y!, ...g]);
      layer.dispose();
      return out;
    };
    const want = await onBackend('cpu', run);
    const got = await onBackend('webgpu', run);
    expect(maxRelError(got.y, want.y)).toBeLessThanOrEqual(TOL);
    expect(got.grads.length).toBe(7);
    got.grads.forEach((g, i) => expect(maxRelError(g, want.grads[i]), `gradient ${i}`).toBeLessThanOrEqual(TOL));
    await onBackend('webgpu', async () => {
      const { layer, x, ws } = make();
      const counted = await countWebGpu(() => tf.grads((xv: tf.Tensor) => tf.sum(layer.apply(xv, { training: true }) as tf.Tensor))([x]));
      expect(Object.entries(counted.counts.byProgram).filter(([p]) => p.startsWith('mmctrCrossNet')).map(([p, n]) => `${p} ${n}`).sort()).toEqual(['mmctrCrossNetCols 1', 'mmctrCrossNetRows 1', 'mmctrCrossNetRowsGrad 1']);
      tf.dispose([x, ...counted.result]);
      void ws;
      layer.dispose();
    });
  });

  it('in chunks of batch rows (5 rows per chunk): within 1e-4 of cpu and 1e-5 of the unchunked block, the same bits twice, 7 + 14 · 5 block dispatches', async () => {
    const want = await cpuPass();
    await onBackend('webgpu', async () => {
      const model = webGpuModel();
      const whole = await pass(model);
      dinBlockOptions.maxBindingBytes = 5 * ARGS.attentionUnits[0] * SHAPE.seqLen * 4;
      try {
        expect(dinBlockChunkRows(ROWS, SHAPE.seqLen, 144, dinBlockOptions.maxBindingBytes)).toBe(5);
        resetState(model);
        const got = await pass(model);
        resetState(model);
        expectSameBits(await pass(model), got);
        expectClose(got, want);
        expect(maxRelError(got.logits, whole.logits)).toBeLessThanOrEqual(1e-5);
        for (const [k, g] of whole.grads) {
          if (BN_BIAS.test(k)) continue; // rounding noise (see expectClose)
          const floor = 1e-6 * g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expect(maxRelError(got.grads.get(k)!, g, floor), `gradient of ${k} against the unchunked block`).toBeLessThanOrEqual(1e-5);
        }
        expect((await dispatches(model)).block).toBe(7 + 14 * 5);
      } finally {
        delete dinBlockOptions.maxBindingBytes;
        model.dispose();
      }
    });
  });
});
