/**
 * The fused embedding ops on webgpu (src/engine/kernels/webgpu/embedding.ts, used by `EmbeddingTable`,
 * `MaskedMeanPooling` and `paddingMask` there) against the unfused layers on cpu: values and the gradients of the
 * table and of the pooled vectors, relative error ≤ 1e-4, with padding ids, repeated ids and all-padding lists;
 * dispatch counts. Tiny shapes (lavapipe).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../src/engine/webgpu';
import { countWebGpu } from '../../src/engine/webgpuCounters';
import { EmbeddingTable, MaskedMeanPooling, paddingMask } from '../../src/models/layers';
import { maxRelError, onBackend, useWebGpuSuite } from './webgpuHelpers';

const probe = await probeWebGpu();
if (!probe.adapter) console.warn(`[webgpu fused embedding tests skipped] no WebGPU adapter: ${probe.reason}`);

const TOL = 1e-4;
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3 + 0.1 * i * i));
/** [3, 4, 5] ids: padding (0), repeats, one list all padding. */
const IDS = Int32Array.from({ length: 60 }, (_, i) => (i >= 10 && i < 15 ? 0 : (i * 7) % 5 === 0 ? 0 : 1 + ((i * 13) % 9)));
/** A small table (gradient by gather, 1 dispatch) and one past SMALL_TABLE_WORK = 2²⁰ rows × ids (zero + scatter). */
const VOCABS = { small: 10, large: 20_000 };
const DIM = 6;

interface Out {
  y: Float32Array;
  dTable: Float32Array;
  mask: Float32Array;
  /** The lookup alone (zeros at padding). */
  rows: Float32Array;
}

/** lookup → masked mean over the last id axis, and the table's gradient of Σ y·r, on the active backend. */
async function run(vocab: number): Promise<Out> {
  const table = new EmbeddingTable({ vocabSize: vocab, embeddingDim: DIM, initStd: 1, seed: 5 });
  const pool = new MaskedMeanPooling();
  const ids = tf.tensor3d(IDS, [3, 4, 5], 'int32');
  table.apply(ids);
  const w = table.trainableWeights[0].read() as tf.Variable;
  w.assign(tf.tensor2d(values(vocab * DIM, 2), [vocab, DIM]));
  let y: tf.Tensor | undefined;
  const { grads } = tf.variableGrads(() => {
    const v = pool.apply([table.apply(ids) as tf.Tensor, ids]) as tf.Tensor; // [3, 4, DIM]
    y = tf.keep(v.clone());
    return tf.sum(tf.mul(v, tf.tensor(values(v.size, 9), v.shape))) as tf.Scalar;
  }, [w]);
  const mask = paddingMask(ids);
  const rows = table.apply(ids) as tf.Tensor;
  const out = { rows: (await rows.data()) as Float32Array, y: (await y!.data()) as Float32Array, dTable: (await grads[w.name].data()) as Float32Array, mask: (await mask.data()) as Float32Array };
  tf.dispose([y!, mask, rows, ids, ...Object.values(grads)]);
  table.dispose();
  return out;
}

describe.skipIf(!probe.adapter)('fused embedding ops on webgpu', () => {
  useWebGpuSuite();

  it.each(Object.entries(VOCABS))('lookup + masked mean (%s table): values and table gradient match cpu; padding row gets none', async (_label, vocab) => {
    const want = await onBackend('cpu', () => run(vocab));
    const got = await onBackend('webgpu', () => run(vocab));
    expect(maxRelError(got.rows, want.rows)).toBeLessThanOrEqual(TOL);
    expect(maxRelError(got.y, want.y)).toBeLessThanOrEqual(TOL);
    expect(maxRelError(got.dTable, want.dTable)).toBeLessThanOrEqual(TOL);
    expect(Array.from(got.dTable.subarray(0, DIM))).toEqual(new Array(DIM).fill(0));
    expect(Array.from(got.mask)).toEqual(Array.from(want.mask));
    // The all-padding list (row 0, position 2) pools to zeros.
    expect(Array.from(got.y.subarray(2 * DIM, 3 * DIM))).toEqual(new Array(DIM).fill(0));
  });

  it.each(Object.entries(VOCABS))('dispatches (%s table): lookup 1 (+1 small / +2 backward), masked mean 1 (+1), padding mask 1', async (label, vocab) => {
    await onBackend('webgpu', async () => {
      const table = new EmbeddingTable({ vocabSize: vocab, embeddingDim: DIM, seed: 5 });
      const pool = new MaskedMeanPooling();
      const ids = tf.tensor3d(IDS, [3, 4, 5], 'int32');
      table.apply(ids);
      const w = table.trainableWeights[0].read() as tf.Variable;
      const fwd = await countWebGpu(() => tf.tidy(() => pool.apply([table.apply(ids) as tf.Tensor, ids]) as tf.Tensor));
      expect(fwd.counts.dispatches).toBe(2);
      const both = await countWebGpu(() => tf.variableGrads(() => tf.sum(pool.apply([table.apply(ids) as tf.Tensor, ids]) as tf.Tensor) as tf.Scalar, [w]));
      const large = label === 'large';
      expect(both.counts.byKernel['raw:mmctrZeroRaw'] ?? 0).toBe(large ? 1 : 0);
      expect(both.counts.byKernel['raw:mmctrScatterValid'] ?? 0).toBe(large ? 1 : 0);
      expect(both.counts.byKernel['raw:mmctrLookupGradSmall'] ?? 0).toBe(large ? 0 : 1);
      expect(both.counts.byKernel['raw:mmctrMaskedMeanGrad']).toBe(1);
      const m = await countWebGpu(() => paddingMask(ids));
      expect(m.counts.dispatches).toBe(1);
      tf.dispose([fwd.result, m.result, both.result.value, ...Object.values(both.result.grads), ids]);
      table.dispose();
    });
  });
});
