/**
 * Embedding lookups and masked mean pooling for webgpu training steps, as custom ops (`tf.customGrad`) over raw
 * WGSL programs (raw.ts); the layers of src/models/layers/embedding.ts and `paddingMask` use them on webgpu.
 *
 * | op | forward | backward | tfjs ops replaced |
 * |---|---|---|---|
 * | `webGpuLookup(table, ids)`: rows, zero where id ≤ 0 | 1 | zero + scatter-add (rows of id > 0) = 2; 1 for a small table | gather, greater, cast, mul; mul + gather gradient (2) |
 * | `webGpuMaskedMean(vectors, ids)`: mean over valid ids | 1 | 1 | greater, cast, mul, sum, sum, maximum, div and their gradients |
 * | `webGpuPaddingMask(ids)`: float 1 where id > 0 | 1 | — | greater, cast |
 *
 * Semantics as the unfused layers: padding (id ≤ 0) gives a zero vector and sends no gradient to row 0; a list
 * with no valid id pools to zeros; float sums of the scatter use a compare-exchange loop (the order of additions,
 * and so the last bits, vary when ids repeat).
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { atomicAddF32 } from './program';
import { type RawProgram, allocOnGpu, runRaw, workgroupGrid, FLAT_MAIN } from './raw';

const WG = 256;

const LOOKUP: RawProgram = {
  key: 'mmctrLookup',
  bindings: [
    { name: 'table', access: 'read', type: 'f32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: [
    { name: 'n', type: 'i32' },
    { name: 'dim', type: 'i32' },
    { name: 'rows', type: 'i32' },
  ],
  body: `${FLAT_MAIN}
  if (idx >= u.n * u.dim) { return; }
  let p = idx / u.dim;
  let id = ids[p];
  var v = 0.0;
  if (id > 0 && id < u.rows) { v = table[id * u.dim + (idx - p * u.dim)]; }
  out[idx] = v;
}`,
};

const ZERO: RawProgram = {
  key: 'mmctrZeroRaw',
  bindings: [{ name: 'out', access: 'read_write', type: 'f32' }],
  uniforms: [{ name: 'n', type: 'i32' }],
  body: `${FLAT_MAIN}
  if (idx < u.n) { out[idx] = 0.0; }
}`,
};

const SCATTER: RawProgram = {
  key: 'mmctrScatterValid',
  bindings: [
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'out', access: 'read_write', type: 'atomic<i32>' },
  ],
  uniforms: [
    { name: 'n', type: 'i32' },
    { name: 'dim', type: 'i32' },
    { name: 'rows', type: 'i32' },
  ],
  body: `${FLAT_MAIN}
  if (idx >= u.n * u.dim) { return; }
  let p = idx / u.dim;
  let id = ids[p];
  if (id > 0 && id < u.rows) {
    let at = id * u.dim + (idx - p * u.dim);
    ${atomicAddF32('&out[at]', 'dy[idx]')}
  }
}`,
};

/**
 * The table gradient of a small table in one dispatch, as a gather: one invocation per table entry sums dy over
 * the positions holding its id (no zero fill, no atomics, a fixed order). Used when rows × ids ≤ SMALL_TABLE_WORK
 * (the likes/views tables: 11 rows).
 */
const GATHER_GRAD: RawProgram = {
  key: 'mmctrLookupGradSmall',
  bindings: [
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: [
    { name: 'n', type: 'i32' },
    { name: 'dim', type: 'i32' },
    { name: 'rows', type: 'i32' },
  ],
  body: `${FLAT_MAIN}
  if (idx >= u.rows * u.dim) { return; }
  let row = idx / u.dim;
  let k = idx - row * u.dim;
  var s = 0.0;
  if (row > 0) {
    for (var p = 0; p < u.n; p = p + 1) { if (ids[p] == row) { s = s + dy[p * u.dim + k]; } }
  }
  out[idx] = s;
}`,
};
const SMALL_TABLE_WORK = 1 << 20;
const SMALL_TABLE_MAX_IDS = 1 << 16;

function checkIds(ids: tf.Tensor, what: string): void {
  if (ids.dtype !== 'int32') throw new MmctrError(`${what}: ids must be int32, got ${ids.dtype}`);
}

/** table [rows, dim], ids int32 [...] → [..., dim]; zero where id ≤ 0 (or ≥ rows); gradient to the table only. */
export function webGpuLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  checkIds(ids, 'webGpuLookup');
  const [rows, dim] = table.shape;
  const n = ids.size;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const out = allocOnGpu([...ids.shape, dim]);
    runRaw(LOOKUP, [t, ids, out], [n, dim, rows], workgroupGrid(Math.ceil((n * dim) / WG)));
    save([ids]);
    return {
      value: tf.engine().makeTensorFromTensorInfo(out),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = allocOnGpu([rows, dim]);
        if (rows * n <= SMALL_TABLE_WORK && n <= SMALL_TABLE_MAX_IDS) {
          runRaw(GATHER_GRAD, [dy as tf.Tensor, saved[0], g], [n, dim, rows], workgroupGrid(Math.ceil((rows * dim) / WG)));
          return [tf.engine().makeTensorFromTensorInfo(g)];
        }
        runRaw(ZERO, [g], [rows * dim], workgroupGrid(Math.ceil((rows * dim) / WG)));
        runRaw(SCATTER, [dy as tf.Tensor, saved[0], g], [n, dim, rows], workgroupGrid(Math.ceil((n * dim) / WG)));
        return [tf.engine().makeTensorFromTensorInfo(g)];
      },
    };
  });
  return op(table);
}

const MEAN_FWD: RawProgram = {
  key: 'mmctrMaskedMean',
  bindings: [
    { name: 'x', access: 'read', type: 'f32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: [
    { name: 'groups', type: 'i32' },
    { name: 'len', type: 'i32' },
    { name: 'dim', type: 'i32' },
  ],
  body: `${FLAT_MAIN}
  if (idx >= u.groups * u.dim) { return; }
  let g = idx / u.dim;
  let k = idx - g * u.dim;
  var s = 0.0;
  var c = 0.0;
  for (var l = 0; l < u.len; l = l + 1) {
    if (ids[g * u.len + l] > 0) {
      s = s + x[(g * u.len + l) * u.dim + k];
      c = c + 1.0;
    }
  }
  out[idx] = s / max(c, 1.0);
}`,
};

const MEAN_BWD: RawProgram = {
  key: 'mmctrMaskedMeanGrad',
  bindings: [
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'dx', access: 'read_write', type: 'f32' },
  ],
  uniforms: [
    { name: 'groups', type: 'i32' },
    { name: 'len', type: 'i32' },
    { name: 'dim', type: 'i32' },
  ],
  body: `${FLAT_MAIN}
  if (idx >= u.groups * u.len * u.dim) { return; }
  let gl = idx / u.dim;
  let k = idx - gl * u.dim;
  let g = gl / u.len;
  var c = 0.0;
  for (var l = 0; l < u.len; l = l + 1) { if (ids[g * u.len + l] > 0) { c = c + 1.0; } }
  var v = 0.0;
  if (ids[gl] > 0) { v = dy[g * u.dim + k] / max(c, 1.0); }
  dx[idx] = v;
}`,
};

/** vectors [..., len, dim], ids int32 [..., len] → [..., dim]: the mean of the vectors whose id > 0 (0 if none). */
export function webGpuMaskedMean(vectors: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  checkIds(ids, 'webGpuMaskedMean');
  const shape = vectors.shape;
  const dim = shape[shape.length - 1];
  const len = shape[shape.length - 2];
  if (ids.rank !== vectors.rank - 1 || ids.shape.some((d, i) => d !== shape[i])) {
    throw new MmctrError(`webGpuMaskedMean: ids [${ids.shape}] must be the leading dims of vectors [${shape}]`);
  }
  const groups = ids.size / Math.max(1, len);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const out = allocOnGpu([...shape.slice(0, -2), dim]);
    runRaw(MEAN_FWD, [x, ids, out], [groups, len, dim], workgroupGrid(Math.ceil((groups * dim) / WG)));
    save([ids]);
    return {
      value: tf.engine().makeTensorFromTensorInfo(out),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dx = allocOnGpu([...shape]);
        runRaw(MEAN_BWD, [dy as tf.Tensor, saved[0], dx], [groups, len, dim], workgroupGrid(Math.ceil((groups * len * dim) / WG)));
        return [tf.engine().makeTensorFromTensorInfo(dx)];
      },
    };
  });
  return op(vectors);
}

const MASK: RawProgram = {
  key: 'mmctrPaddingMask',
  bindings: [
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: [{ name: 'n', type: 'i32' }],
  body: `${FLAT_MAIN}
  if (idx < u.n) { out[idx] = select(0.0, 1.0, ids[idx] > 0); }
}`,
};

/** ids int32 [...] → float32 [...], 1 where id > 0 (no gradient). */
export function webGpuPaddingMask(ids: tf.Tensor): tf.Tensor {
  checkIds(ids, 'webGpuPaddingMask');
  const out = allocOnGpu([...ids.shape]);
  runRaw(MASK, [ids, out], [ids.size], workgroupGrid(Math.ceil(ids.size / WG)));
  return tf.engine().makeTensorFromTensorInfo(out);
}
