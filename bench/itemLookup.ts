/**
 * Item lookup of the model zoo (src/models/features.ts `ItemEncoder`): the item vectors of a batch computed once
 * per distinct id and gathered into place ('unique'), or at every position as the baseline does ('perPosition').
 * Both give the same values and gradients; this measures a forward + backward step of the encoder alone (sum of
 * target and history vectors as the loss) at the real item table size (91,718 items, 11,740 tags, emb 64,
 * pretrained 128 → 128), history 64, on `wasm` and `cpu` with the project's kernels (and the native OpenBLAS
 * kernels on wasm when built). Histories: real-like (non-zero length 3 + geometric, mean ≈ 8, popularity-skewed
 * ids) and full (all 64 positions valid, the worst case for 'unique'; batch 256 only). Median of the timed steps after warm-up.
 *
 *   node --import tsx bench/itemLookup.ts            rewrites bench/results/itemLookup.{md,json}
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerProjectKernels } from '../src/engine/kernels';
import { nativeStatus, registerNativeKernels, unregisterNativeKernels } from '../src/engine/native';
import { ItemEncoder, type ItemLookup, microlensFeatureMap } from '../src/models/features';
import type { ItemTable } from '../src/models/types';
import { Rng } from '../src/util/rng';
import { writeResults, type Row } from './lib/results';

const ITEMS = 91_718;
const TAGS = 11_740;
const SEQ = 64;

function itemTable(rng: Rng): ItemTable {
  const tags = new Int32Array(ITEMS * 5);
  const emb = new Float32Array(ITEMS * 128);
  for (let r = 1; r < ITEMS; r++) {
    const n = 1 + rng.int(5);
    for (let c = 5 - n; c < 5; c++) tags[r * 5 + c] = 1 + rng.int(TAGS - 1);
  }
  rng.fillNormal(emb.subarray(128));
  return { tags: { data: tags, rows: ITEMS, cols: 5 }, emb: { data: emb, rows: ITEMS, cols: 128 }, tagVocab: TAGS };
}

function batch(rng: Rng, b: number, full: boolean): { itemId: tf.Tensor1D; itemSeq: tf.Tensor2D; valid: number; unique: number } {
  const popular = () => 1 + Math.floor((ITEMS - 1) * rng.uniform() ** 3); // skewed popularity
  const ids = new Int32Array(b);
  const seq = new Int32Array(b * SEQ);
  for (let i = 0; i < b; i++) {
    ids[i] = popular();
    const len = full ? SEQ : Math.min(SEQ, 3 + Math.floor(-Math.log(rng.uniformOpen()) * 5));
    for (let j = SEQ - len; j < SEQ; j++) seq[i * SEQ + j] = popular();
  }
  const distinct = new Set([...ids, ...seq]);
  return {
    itemId: tf.tensor1d(ids, 'int32'),
    itemSeq: tf.tensor2d(seq, [b, SEQ], 'int32'),
    valid: seq.reduce((s, v) => s + (v > 0 ? 1 : 0), 0) / b,
    unique: distinct.size,
  };
}

function timeStep(encoder: ItemEncoder, vars: tf.Variable[], x: { itemId: tf.Tensor1D; itemSeq: tf.Tensor2D }, steps: number): number {
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const { target, history } = encoder.encode(x.itemId, x.itemSeq);
      return tf.add(tf.sum(target), tf.sum(tf.square(history))) as tf.Scalar;
    }, vars);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const ms: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    ms.push(performance.now() - t0);
  }
  return [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)];
}

const rows: Row[] = [];
const table = itemTable(new Rng('itemLookup/table'));
const configs: { backend: 'wasm' | 'cpu'; native: boolean; batches: number[] }[] = [
  { backend: 'wasm', native: false, batches: [256, 1024] },
  { backend: 'cpu', native: false, batches: [256] },
];
if (nativeStatus().available) configs.unshift({ backend: 'wasm', native: true, batches: [256, 1024] });
for (const { backend, native, batches } of configs) {
  await tf.setBackend(backend);
  registerProjectKernels();
  if (native) registerNativeKernels(backend);
  for (const b of batches) {
    // Full histories at batch 1024 outgrow wasm's 4 GiB heap (per-position tag embeddings alone are 84 MB).
    for (const full of b > 256 ? [false] : [false, true]) {
      const x = batch(new Rng(`itemLookup/batch/${b}/${full}`), b, full);
      const row: Row = { backend: native ? `${backend}+native` : backend, batch: b, history: full ? 'full 64' : 'real-like', 'valid/row': x.valid.toFixed(1), 'distinct ids': x.unique };
      for (const lookup of ['unique', 'perPosition'] as ItemLookup[]) {
        const features = microlensFeatureMap(table);
        const encoder = new ItemEncoder(features.item, table, { embeddingDim: 64, lookup, seed: 1 });
        const vars = encoder.weightParts().layers.flatMap(([, l]) => {
          tf.tidy(() => encoder.encode(x.itemId, x.itemSeq)); // builds the layers
          return l.trainableWeights.map((w) => w.read() as tf.Variable);
        });
        row[`${lookup} ms`] = Math.round(timeStep(encoder, [...new Set(vars)], x, backend === 'cpu' ? 2 : 4));
        encoder.weightParts().layers.forEach(([, l]) => l.dispose());
        encoder.weightParts().frozen.forEach(([, v]) => v.dispose());
      }
      row.speedup = (Number(row['perPosition ms']) / Number(row['unique ms'])).toFixed(1);
      console.log(row);
      rows.push(row);
      tf.dispose([x.itemId, x.itemSeq]);
    }
  }
  if (native) unregisterNativeKernels(backend);
}

writeResults({
  name: 'itemLookup',
  title: 'Item lookup: unique ids vs every position (encoder forward + backward, ms per step)',
  command: 'node --import tsx bench/itemLookup.ts',
  rows,
  notes: ['Table: 91,718 items × (id 64 ‖ 5 tags 64 ‖ 128 → 128); history 64. Default lookup = the faster one.'],
});
