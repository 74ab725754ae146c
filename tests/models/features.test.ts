import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerProjectKernels } from '../../src/engine';
import {
  ContextEncoder,
  ItemEncoder,
  type ItemLookup,
  ModelConfigError,
  microlensFeatureMap,
  validateItemTable,
} from '../../src/models';
import { withDirtyRowZero } from './modelCheck';
import { TINY, tinyItemTable } from './synthetic';

const table = tinyItemTable();

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerProjectKernels();
});

function encoder(lookup: ItemLookup, t = table, seed = 5): ItemEncoder {
  const e = new ItemEncoder(microlensFeatureMap(t, { pretrainedDim: 6 }).item, t, { embeddingDim: 4, lookup, seed });
  tf.tidy(() => {
    e.encodeIds(tf.tensor1d([1], 'int32')); // builds the layers
  });
  return e;
}

function weightsOf(e: ItemEncoder, key: string): number[][] {
  const layer = e.weightParts().layers.find(([k]) => k === key)![1];
  return layer.getWeights()[0].arraySync() as number[][];
}

/** The baseline's item vector written out in plain JS: id emb ‖ masked mean of tag embs ‖ emb · W; 0 for id 0. */
function reference(e: ItemEncoder, id: number): number[] {
  const ids = weightsOf(e, 'item_id_embedding');
  const tags = weightsOf(e, 'item_tags_embedding');
  const w = weightsOf(e, 'item_emb_d128_projection'); // [in, out]
  if (id === 0) return Array<number>(e.width).fill(0);
  const rowTags = Array.from(table.tags.data.subarray(id * 5, id * 5 + 5)).filter((t) => t > 0);
  const tagMean = tags[0].map((_, c) => rowTags.reduce((s, t) => s + tags[t][c], 0) / Math.max(rowTags.length, 1));
  const v = table.emb.data.subarray(id * TINY.embDim, (id + 1) * TINY.embDim);
  const proj = w[0].map((_, o) => v.reduce((s, x, i) => s + x * w[i][o], 0));
  return [...ids[id], ...tagMean, ...proj];
}

describe('ItemEncoder', () => {
  const itemId = [3, 17, 3];
  const itemSeq = [[0, 0, 5, 3], [0, 17, 40, 1], [0, 0, 0, 0]];

  it.each<ItemLookup>(['unique', 'perPosition'])('gives the baseline item vectors (%s)', (lookup) => {
    const e = encoder(lookup);
    expect(e.width).toBe(4 + 4 + 6);
    const out = tf.tidy(() => {
      const r = e.encode(tf.tensor1d(itemId, 'int32'), tf.tensor2d(itemSeq, undefined, 'int32'));
      return [r.target.arraySync(), r.history.arraySync(), r.mask.arraySync()] as [number[][], number[][][], number[][]];
    });
    const [target, history, mask] = out;
    itemId.forEach((id, b) => target[b].forEach((v, c) => expect(v).toBeCloseTo(reference(e, id)[c], 5)));
    itemSeq.forEach((row, b) =>
      row.forEach((id, j) => history[b][j].forEach((v, c) => expect(v).toBeCloseTo(reference(e, id)[c], 5))),
    );
    expect(mask).toEqual(itemSeq.map((row) => row.map((id) => (id > 0 ? 1 : 0))));
  });

  it('unique and per-position lookups give the same values and gradients', () => {
    const results = (['unique', 'perPosition'] as ItemLookup[]).map((lookup) => {
      const e = encoder(lookup);
      const vars = e.weightParts().layers.flatMap(([, l]) => l.trainableWeights.map((w) => w.read() as tf.Variable));
      const { value, grads } = tf.variableGrads(() => {
        const r = e.encode(tf.tensor1d(itemId, 'int32'), tf.tensor2d(itemSeq, undefined, 'int32'));
        const weights = tf.linspace(-1, 1, r.history.size).reshape(r.history.shape);
        return tf.add(tf.sum(tf.square(r.target)), tf.sum(tf.mul(r.history, weights))) as tf.Scalar;
      }, vars);
      const out = { value: value.dataSync()[0], grads: vars.map((v) => Array.from(grads[v.name].dataSync())) };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    });
    expect(results[0].value).toBeCloseTo(results[1].value, 5);
    results[0].grads.forEach((g, i) =>
      g.forEach((v, j) => expect(Math.abs(v - results[1].grads[i][j])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(v)))),
    );
    expect(results[0].grads[0].some((v) => v !== 0)).toBe(true);
  });

  it('ignores row 0 of the item table (padding positions are exactly zero)', () => {
    const e = encoder('unique', withDirtyRowZero(table));
    const history = tf.tidy(() => e.encode(tf.tensor1d([1], 'int32'), tf.tensor2d([[0, 0, 2]], undefined, 'int32')).history.arraySync());
    expect(history[0][0].every((v) => v === 0)).toBe(true);
    expect(history[0][2].some((v) => v !== 0)).toBe(true);
  });

  it('refuses ids outside the table', () => {
    for (const lookup of ['unique', 'perPosition'] as ItemLookup[]) {
      const e = encoder(lookup);
      expect(() => e.encode(tf.tensor1d([1], 'int32'), tf.tensor2d([[0, 41]], undefined, 'int32'))).toThrow(/itemSeq: item id 41/);
      expect(() => e.encodeTargets(tf.tensor1d([-1], 'int32'))).toThrow(ModelConfigError);
      expect(() => e.encode(tf.tensor1d([1.5]), tf.tensor2d([[0, 1]], undefined, 'int32'))).toThrow(/itemId: item ids must be int32, got float32/);
    }
  });

  it('keeps no tensors beyond its results', () => {
    const e = encoder('unique');
    const before = tf.memory().numTensors;
    const r = e.encode(tf.tensor1d(itemId, 'int32'), tf.tensor2d(itemSeq, undefined, 'int32'));
    tf.dispose([r.target, r.history, r.mask]);
    expect(tf.memory().numTensors).toBe(before + 2); // the two input tensors of this test
  });
});

describe('feature map and item table', () => {
  it('describes the baseline fields with the table vocabularies', () => {
    const map = microlensFeatureMap(table);
    expect(map.item.map((f) => [f.kind, f.name])).toEqual([
      ['categorical', 'item_id'],
      ['pooledSequence', 'item_tags'],
      ['pretrained', 'item_emb_d128'],
    ]);
    expect(map.item[0]).toMatchObject({ vocabSize: TINY.items + 1, paddingIdx: 0 });
    expect(map.item[1]).toMatchObject({ vocabSize: TINY.tags + 1, maxLen: 5, pooling: 'mean' });
    expect(map.item[2]).toMatchObject({ dim: TINY.embDim, outputDim: 128 });
    expect(map.context.map((c) => [c.feature.name, c.feature.vocabSize, c.input])).toEqual([
      ['likes_level', 11, 'likesLevel'],
      ['views_level', 11, 'viewsLevel'],
    ]);
    expect(map.history).toMatchObject({ kind: 'sequence', maxLen: 64, sharesEmbeddingWith: 'item' });
  });

  it('rejects inconsistent item tables', () => {
    expect(() => validateItemTable({ ...table, tagVocab: TINY.tags })).toThrow(/tag id 12 .* outside 0\.\.11/);
    expect(() => validateItemTable({ ...table, emb: { ...table.emb, rows: 3 } })).toThrow(ModelConfigError);
    expect(() => validateItemTable({ ...table, tags: { ...table.tags, cols: 4 } })).toThrow(/data length/);
  });
});

describe('ContextEncoder', () => {
  it('embeds likes and views; level 0 is the zero padding row as in FuxiCTR', () => {
    const ctx = new ContextEncoder(microlensFeatureMap(table).context, 3, 1);
    const inputs = {
      itemId: tf.tensor1d([1, 2], 'int32'),
      likesLevel: tf.tensor1d([0, 4], 'int32'),
      viewsLevel: tf.tensor1d([9, 0], 'int32'),
      itemSeq: tf.tensor2d([[1], [2]], undefined, 'int32'),
    };
    const fields = ctx.fields(inputs).arraySync();
    const flat = ctx.flat(inputs).arraySync();
    expect(fields[0][0].map(Math.abs)).toEqual([0, 0, 0]);
    expect(fields[1][1].map(Math.abs)).toEqual([0, 0, 0]);
    expect(fields[1][0].some((v) => v !== 0)).toBe(true);
    expect(flat[1]).toEqual([...fields[1][0], ...fields[1][1]]);
    expect(ctx.weightParts().layers.map(([k]) => k)).toEqual(['likes_level_embedding', 'views_level_embedding']);
  });
});
