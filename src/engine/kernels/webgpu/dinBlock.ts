/**
 * Everything of DIN (src/models/din.ts, the challenge baseline) between the item vectors and the output network, as
 * one custom op on webgpu for training steps:
 *
 *   t = V[slot(item_id)], h_l = V[slot(item_seq_l)]                  (V = the batch's distinct item vectors [U, D])
 *   z1 = [t, h, t − h, t ⊙ h] · W1 + b1;  a1 = drop(relu(z1))        (attention MLP, layer 1)   [b·L, A1]
 *   z2 = a1 · W2 + b2;                    a2 = drop(relu(z2))        (layer 2)                  [b·L, A2]
 *   s_l = (a2_l · w3 + b3) · [item_seq_l > 0];  pooled = Σ_l s_l h_l (no softmax)               [b, D]
 *   out = [likes_emb ‖ views_emb ‖ t ‖ pooled]                                                  [b, 2e + 2D]
 *
 * with the gradients of V, the two context tables and the attention weights. The same arithmetic as the layers'
 * ops (DinAttention with two ReLU hidden layers, DenseUnit's seeded dropout with the seeds drawn in the same order,
 * ContextEncoder.concatWith), in 12 dispatches instead of 32 — no target/history gathers and their scatter-add
 * gradients (the slots are read on load), no separate layer tails, no materialised a1/a2 (recomputed from z on load,
 * the dropout mask from its hash), no broadcast adds:
 *
 * | forward (4) | backward (8) |
 * |---|---|
 * | `Target`: t·(W_t + W_d) [b, A1] (gemm), and the context lookups into out | `PoolGrad`: ds = mask·(dpooled · h) per position; per-row partials of dw3, db3 |
 * | `History`: z1 = [h, t ⊙ h]·[W_h − W_d; W_p] + tq + b1 (gemm) | `Layer2Grad`: dz1 = ((ds·w3 ⊙ relu′ ⊙ drop)·W2ᵀ) ⊙ relu′ ⊙ drop (gemm) |
 * | `Layer2`: z2 = a1·W2 + b2, a1 on load (gemm) | `GradX`: dH = G1 + t ⊙ G2 + s·dpooled, tmp = G3 + h ⊙ G2 (gemm, 3 operands) |
 * | `Pool`: s and pooled per row; t and pooled into out | `W2Parts`, `W1Parts`: [a1 ‖ 1]ᵀ·dz2 over slices of positions; [h ‖ t ⊙ h]ᵀ·dz1 over slices of positions and [t ‖ 1]ᵀ·S (S = dz1 summed over each row's positions) over slices of rows (gemm, split-K; the row of ones gives the bias) |
 * | | `ReduceW`: the slices summed into dW1 (its t − h rows as t rows − h rows), db1, dW2, db2 (fixed order) |
 * | | `ReduceSmall`: dw3, db3; the context tables' gradients gather-style |
 * | | `VectorsGrad`: dV per distinct item over its positions (host-built CSR lists: no atomics), dt = Σ_l tmp + dout_t |
 *
 * Every reduction runs in a fixed order: the same gradients bit for bit on every run (the unfused path's
 * scatter-adds used float atomics). Each program binds ≤ 8 storage buffers (WebGPU's default limit).
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { WGSL_DROPOUT_HASH, dropoutUniforms } from './dropout';
import { TILE_128, TILE_128x64, gemmPairProgram, gemmPairWorkgroups, gemmProgram, gemmSplits, gemmUniforms, gemmWorkgroups } from './gemm';
import { type RawBinding, type RawProgram, allocOnGpu, flushQueue, runRaw, workgroupGrid, FLAT_MAIN } from './raw';

const WG = 256;
/** Longest history the per-row programs take (a workgroup holds a row's scores). */
export const DIN_BLOCK_MAX_LEN = 256;

export interface DinBlockInputs {
  /** The batch's distinct item vectors [U, D] (ItemEncoder's unique lookup). */
  vectors: tf.Tensor;
  /** Slots into `vectors`: the b targets, then the b·L history positions (row-major). */
  slots: Int32Array;
  /** item_seq [b·L] (0 = padding). */
  itemSeq: Int32Array;
  /** The two context fields: tables [rows, e] and ids [b] (host arrays). */
  context: [{ table: tf.Tensor; ids: Int32Array }, { table: tf.Tensor; ids: Int32Array }];
  /** Attention weights: W1 [4D, A1], b1 [A1], W2 [A1, A2], b2 [A2], w3 [A2, 1], b3 [1]. */
  w1: tf.Tensor;
  b1: tf.Tensor;
  w2: tf.Tensor;
  b2: tf.Tensor;
  w3: tf.Tensor;
  b3: tf.Tensor;
  batch: number;
  seqLen: number;
  /** Dropout after each hidden layer: rate and seed (seed unused at rate 0). */
  dropout: [{ rate: number; seed: number }, { rate: number; seed: number }];
}

/** The op's uniforms after the gemm template's (or alone for the non-gemm programs). */
const U: RawProgram['uniforms'] = [
  { name: 'b', type: 'i32' },
  { name: 'len', type: 'i32' },
  { name: 'd', type: 'i32' },
  { name: 'a1', type: 'i32' },
  { name: 'a2', type: 'i32' },
  { name: 'e', type: 'i32' },
  { name: 'width', type: 'i32' },
  { name: 'rows0', type: 'i32' },
  { name: 'rows1', type: 'i32' },
  { name: 'k1a', type: 'u32' },
  { name: 'k2a', type: 'u32' },
  { name: 'thra', type: 'u32' },
  { name: 'alla', type: 'i32' },
  { name: 'keepa', type: 'f32' },
  { name: 'k1b', type: 'u32' },
  { name: 'k2b', type: 'u32' },
  { name: 'thrb', type: 'u32' },
  { name: 'allb', type: 'i32' },
  { name: 'keepb', type: 'f32' },
  { name: 's1', type: 'i32' },
  { name: 's2', type: 'i32' },
  { name: 's1b', type: 'i32' },
];

const r = (name: string): RawBinding => ({ name, access: 'read', type: 'f32' });
const ri = (name: string): RawBinding => ({ name, access: 'read', type: 'i32' });
const rw = (name: string): RawBinding => ({ name, access: 'read_write', type: 'f32' });

/** a1 at (row, q) from z1 (relu, then layer 1's dropout). Needs z1. */
const A1_FN = `
fn a1v(row : i32, q : i32) -> f32 {
  let i = row * u.a1 + q;
  let zv = z1[i];
  if (!(zv > 0.0)) { return 0.0; }
  if (u.alla == 0 && mmctrDropoutHash(u32(i), u.k1a, u.k2a) >= u.thra) { return 0.0; }
  return zv / u.keepa;
}`;
/** a2 at (row, c) from z2. Needs z2. */
const A2_FN = `
fn a2v(row : i32, c : i32) -> f32 {
  let i = row * u.a2 + c;
  let zv = z2[i];
  if (!(zv > 0.0)) { return 0.0; }
  if (u.allb == 0 && mmctrDropoutHash(u32(i), u.k1b, u.k2b) >= u.thrb) { return 0.0; }
  return zv / u.keepb;
}`;
/** dz2 at (row, c) = ds·w3 through layer 2's dropout and relu. Needs dscore, w3, z2. */
const DZ2_FN = `
fn dz2v(row : i32, c : i32) -> f32 {
  let i = row * u.a2 + c;
  if (!(z2[i] > 0.0)) { return 0.0; }
  if (u.allb == 0 && mmctrDropoutHash(u32(i), u.k1b, u.k2b) >= u.thrb) { return 0.0; }
  return dscore[row] * w3[c] / u.keepb;
}`;
/** Target and history vectors by slot. Needs vec, slots. */
const VEC_FN = `
fn tv(row : i32, q : i32) -> f32 { return vec[slots[row / u.len] * u.d + q]; }
fn hv(row : i32, q : i32) -> f32 { return vec[slots[u.b + row] * u.d + q]; }`;

const TARGET = gemmProgram({
  key: 'mmctrDinBlockTarget',
  bindings: [r('vec'), ri('slots'), r('w1'), r('ctx0'), r('ctx1'), ri('ctxIds'), rw('tq'), rw('feat')],
  uniforms: U,
  loadA: 'vec[slots[r] * u.d + k]',
  loadB: ['w1[k * u.a1 + c] + w1[(2 * u.d + k) * u.a1 + c]'],
  store: `tq[r * u.a1 + c] = acc0;
        for (var cc = c; cc < 2 * u.e; cc = cc + u.gn) {
          let f = cc / u.e;
          let q = cc - f * u.e;
          let id = ctxIds[r * 2 + f];
          var cv = 0.0;
          if (f == 0) { if (id > 0 && id < u.rows0) { cv = ctx0[id * u.e + q]; } }
          else if (id > 0 && id < u.rows1) { cv = ctx1[id * u.e + q]; }
          feat[r * u.width + cc] = cv;
        }`,
});

const HISTORY = gemmProgram({
  key: 'mmctrDinBlockHistory',
  bindings: [r('vec'), ri('slots'), r('w1'), r('tq'), r('b1'), rw('z1')],
  uniforms: U,
  helpers: `${VEC_FN}
fn featA(row : i32, q : i32) -> f32 {
  if (q < u.d) { return hv(row, q); }
  return tv(row, q - u.d) * hv(row, q - u.d);
}
fn weightB(q : i32, col : i32) -> f32 {
  if (q < u.d) { return w1[(u.d + q) * u.a1 + col] - w1[(2 * u.d + q) * u.a1 + col]; }
  return w1[(2 * u.d + q) * u.a1 + col];
}`,
  loadA: 'featA(r, k)',
  loadB: ['weightB(k, c)'],
  tile: TILE_128,
  store: 'z1[r * u.a1 + c] = acc0 + tq[(r / u.len) * u.a1 + c] + b1[c];',
});

const LAYER2 = gemmProgram({
  key: 'mmctrDinBlockLayer2',
  bindings: [r('z1'), r('w2'), r('b2'), rw('z2')],
  uniforms: U,
  helpers: `${WGSL_DROPOUT_HASH}${A1_FN}`,
  loadA: 'a1v(r, k)',
  loadB: ['w2[k * u.a2 + c]'],
  tile: TILE_128,
  store: 'z2[r * u.a2 + c] = acc0 + b2[c];',
});

const ROW_HEAD = `
var<workgroup> sc : array<f32, ${DIN_BLOCK_MAX_LEN}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let row = i32(wid.x + wid.y * nwg.x);
  if (row >= u.b) { return; }
  let li = i32(lid);`;

const POOL: RawProgram = {
  key: 'mmctrDinBlockPool',
  bindings: [r('z2'), r('w3'), r('b3'), r('vec'), ri('slots'), ri('seq'), rw('scores'), rw('feat')],
  uniforms: U,
  body: `${WGSL_DROPOUT_HASH}${A2_FN}${ROW_HEAD}
  for (var l = li; l < u.len; l = l + ${WG}) {
    let p = row * u.len + l;
    var s = 0.0;
    if (seq[p] > 0) {
      for (var c = 0; c < u.a2; c = c + 1) { s = s + a2v(p, c) * w3[c]; }
      s = s + b3[0];
    }
    sc[l] = s;
    scores[p] = s;
  }
  workgroupBarrier();
  for (var q = li; q < u.d; q = q + ${WG}) {
    var acc = 0.0;
    for (var l = 0; l < u.len; l = l + 1) { acc = acc + sc[l] * vec[slots[u.b + row * u.len + l] * u.d + q]; }
    feat[row * u.width + 2 * u.e + q] = vec[slots[row] * u.d + q];
    feat[row * u.width + 2 * u.e + u.d + q] = acc;
  }
}`,
};

const POOL_GRAD: RawProgram = {
  key: 'mmctrDinBlockPoolGrad',
  bindings: [r('dout'), r('vec'), ri('slots'), ri('seq'), r('z2'), rw('dscore'), rw('p3')],
  uniforms: U,
  body: `${WGSL_DROPOUT_HASH}${A2_FN}${ROW_HEAD}
  let dp = row * u.width + 2 * u.e + u.d;
  for (var l = li; l < u.len; l = l + ${WG}) {
    let p = row * u.len + l;
    var g = 0.0;
    if (seq[p] > 0) {
      let o = slots[u.b + p] * u.d;
      for (var q = 0; q < u.d; q = q + 1) { g = g + dout[dp + q] * vec[o + q]; }
    }
    sc[l] = g;
    dscore[p] = g;
  }
  workgroupBarrier();
  for (var c = li; c <= u.a2; c = c + ${WG}) {
    var acc = 0.0;
    if (c < u.a2) {
      for (var l = 0; l < u.len; l = l + 1) { acc = acc + sc[l] * a2v(row * u.len + l, c); }
    } else {
      for (var l = 0; l < u.len; l = l + 1) { acc = acc + sc[l]; }
    }
    p3[row * (u.a2 + 1) + c] = acc;
  }
}`,
};

const LAYER2_GRAD = gemmProgram({
  key: 'mmctrDinBlockLayer2Grad',
  bindings: [r('dscore'), r('w3'), r('z2'), r('w2'), r('z1'), rw('dz1')],
  uniforms: U,
  helpers: `${WGSL_DROPOUT_HASH}${DZ2_FN}`,
  loadA: 'dz2v(r, k)',
  loadB: ['w2[c * u.a2 + k]'],
  tile: TILE_128,
  bContig: 'k',
  store: `let i = r * u.a1 + c;
        var g = 0.0;
        if (z1[i] > 0.0 && (u.alla != 0 || mmctrDropoutHash(u32(i), u.k1a, u.k2a) < u.thra)) { g = acc0 / u.keepa; }
        dz1[i] = g;`,
});

const GRAD_X = gemmProgram({
  key: 'mmctrDinBlockGradX',
  bindings: [r('dz1'), r('vec'), ri('slots'), r('w1'), r('scores'), r('dout'), rw('dh'), rw('tmp')],
  uniforms: U,
  helpers: VEC_FN,
  loadA: 'dz1[r * u.a1 + k]',
  loadB: [
    'w1[(u.d + c) * u.a1 + k] - w1[(2 * u.d + c) * u.a1 + k]',
    'w1[(3 * u.d + c) * u.a1 + k]',
    'w1[c * u.a1 + k] + w1[(2 * u.d + c) * u.a1 + k]',
  ],
  tile: TILE_128x64,
  bContig: 'k',
  store: `let bi = r / u.len;
        let t0 = tv(r, c);
        let h0 = hv(r, c);
        dh[r * u.d + c] = acc0 + t0 * acc1 + scores[r] * dout[bi * u.width + 2 * u.e + u.d + c];
        tmp[r * u.d + c] = acc2 + h0 * acc1;`,
});

const W2_PARTS = gemmProgram({
  key: 'mmctrDinBlockW2Parts',
  bindings: [r('z1'), r('dscore'), r('w3'), r('z2'), rw('parts')],
  uniforms: U,
  helpers: `${WGSL_DROPOUT_HASH}${A1_FN}${DZ2_FN}`,
  loadA: 'select(1.0, a1v(k, r), r < u.a1)',
  loadB: ['dz2v(k, c)'],
  tile: TILE_128,
  aContig: 'm',
  store: 'parts[(split * u.gm + r) * u.gn + c] = acc0;',
});

/**
 * dW1 and db1 without the 4D + 1 rows of [t, h, t − h, t ⊙ h, 1] per position: the t rows and the ones row are
 * per batch row (t_b ⊗ S_b, S_b = Σ_l dz1_{b,l}), the t − h rows are the t rows minus the h rows (ReduceW). Two
 * products in one dispatch: parts = [h ‖ t ⊙ h]ᵀ · dz1 over slices of the positions (2D rows), partsT =
 * [t ‖ 1]ᵀ · S over slices of the batch rows (D + 1 rows; S summed on load).
 */
const W1_PARTS = gemmPairProgram({
  key: 'mmctrDinBlockW1Parts',
  bindings: [r('vec'), ri('slots'), r('dz1'), rw('parts'), rw('partsT')],
  uniforms: U,
  helpers: `${VEC_FN}
fn featH(col : i32, pos : i32) -> f32 {
  if (col < u.d) { return hv(pos, col); }
  return tv(pos, col - u.d) * hv(pos, col - u.d);
}
fn featT1(col : i32, row : i32) -> f32 {
  if (col >= u.d) { return 1.0; }
  return vec[slots[row] * u.d + col];
}
fn dz1Sum(row : i32, col : i32) -> f32 {
  var s = 0.0;
  for (var l = 0; l < u.len; l = l + 1) { s = s + dz1[(row * u.len + l) * u.a1 + col]; }
  return s;
}`,
  parts: [
    { loadA: 'featH(r, k)', loadB: ['dz1[k * u.a1 + c]'], store: 'parts[(split * u.gm0 + r) * u.gn0 + c] = acc0;' },
    { loadA: 'featT1(r, k)', loadB: ['dz1Sum(k, c)'], store: 'partsT[(split * u.gm1 + r) * u.gn1 + c] = acc0;' },
  ],
  tile: TILE_128,
  aContig: 'm',
});

/** Slices of the batch rows in W1_PARTS's second product (each B element sums L rows of dz1: short slices). */
const W1T_SPLITS = (d: number, a1: number, b: number) => gemmSplits(d + 1, a1, b, TILE_128, 256, 16);

/**
 * Work items: dw1, db1 ((4D + 1)·A1: the t rows and db1 from parts1t, the h and t ⊙ h rows from parts1, the t − h
 * rows as t − h), then parts2 → dw2, db2 ((A1 + 1)·A2). Slices summed in order.
 */
const REDUCE_W: RawProgram = {
  key: 'mmctrDinBlockReduceW',
  bindings: [r('parts1'), r('parts1t'), r('parts2'), rw('dw1'), rw('db1'), rw('dw2'), rw('db2')],
  uniforms: U,
  body: `${FLAT_MAIN}
  let n1 = (4 * u.d + 1) * u.a1;
  if (idx < n1) {
    let q = idx / u.a1;
    let c = idx - q * u.a1;
    if (q == 4 * u.d) {
      var s = 0.0;
      for (var p = 0; p < u.s1b; p = p + 1) { s = s + parts1t[(p * (u.d + 1) + u.d) * u.a1 + c]; }
      db1[c] = s;
      return;
    }
    let part = q / u.d;
    let qq = q - part * u.d;
    var st = 0.0;
    var sh = 0.0;
    if (part == 0 || part == 2) {
      for (var p = 0; p < u.s1b; p = p + 1) { st = st + parts1t[(p * (u.d + 1) + qq) * u.a1 + c]; }
    }
    if (part >= 1) {
      let hq = select(qq, u.d + qq, part == 3);
      for (var p = 0; p < u.s1; p = p + 1) { sh = sh + parts1[(p * 2 * u.d + hq) * u.a1 + c]; }
    }
    var v = sh;
    if (part == 0) { v = st; } else if (part == 2) { v = st - sh; }
    dw1[idx] = v;
    return;
  }
  let q = idx - n1;
  let n2 = (u.a1 + 1) * u.a2;
  if (q >= n2) { return; }
  var s = 0.0;
  for (var p = 0; p < u.s2; p = p + 1) { s = s + parts2[p * n2 + q]; }
  if (q < u.a1 * u.a2) { dw2[q] = s; } else { db2[q - u.a1 * u.a2] = s; }
}`,
};

/** Work items: dw3, db3 (A2 + 1, Σ over rows of p3), then the two context tables (rows_i · e, gather-style). */
const REDUCE_SMALL: RawProgram = {
  key: 'mmctrDinBlockReduceSmall',
  bindings: [r('p3'), r('dout'), ri('ctxIds'), rw('dw3'), rw('db3'), rw('dctx0'), rw('dctx1')],
  uniforms: U,
  body: `${FLAT_MAIN}
  if (idx <= u.a2) {
    var s = 0.0;
    for (var row = 0; row < u.b; row = row + 1) { s = s + p3[row * (u.a2 + 1) + idx]; }
    if (idx < u.a2) { dw3[idx] = s; } else { db3[0] = s; }
    return;
  }
  var q = idx - u.a2 - 1;
  var f = 0;
  if (q >= u.rows0 * u.e) { q = q - u.rows0 * u.e; f = 1; }
  let rows = select(u.rows0, u.rows1, f == 1);
  if (q >= rows * u.e) { return; }
  let id = q / u.e;
  let col = q - id * u.e;
  var s = 0.0;
  if (id > 0) {
    for (var row = 0; row < u.b; row = row + 1) {
      if (ctxIds[row * 2 + f] == id) { s = s + dout[row * u.width + f * u.e + col]; }
    }
  }
  if (f == 0) { dctx0[q] = s; } else { dctx1[q] = s; }
}`,
};

/** dV [U, D]: per distinct item, the sum over its positions (CSR: offsets [U + 1], positions) of dt or dh. */
const VECTORS_GRAD: RawProgram = {
  key: 'mmctrDinBlockVectorsGrad',
  bindings: [ri('offsets'), ri('positions'), r('tmp'), r('dh'), r('dout'), rw('dvec')],
  uniforms: [...U, { name: 'slotsN', type: 'i32' }],
  body: `${FLAT_MAIN}
  if (idx >= u.slotsN * u.d) { return; }
  let sl = idx / u.d;
  let q = idx - sl * u.d;
  var s = 0.0;
  for (var i = offsets[sl]; i < offsets[sl + 1]; i = i + 1) {
    let p = positions[i];
    if (p < u.b) {
      s = s + dout[p * u.width + 2 * u.e + q];
      for (var l = 0; l < u.len; l = l + 1) { s = s + tmp[(p * u.len + l) * u.d + q]; }
    } else {
      s = s + dh[(p - u.b) * u.d + q];
    }
  }
  dvec[idx] = s;
}`,
};

/** Host-built CSR of the positions of every slot, padding positions (item id 0) left out: they send no gradient. */
function positionsBySlot(slots: Int32Array, b: number, itemSeq: Int32Array, slotCount: number): { offsets: Int32Array; positions: Int32Array } {
  const counts = new Int32Array(slotCount + 1);
  const valid = (p: number) => p < b || itemSeq[p - b] > 0;
  for (let p = 0; p < slots.length; p++) if (valid(p)) counts[slots[p] + 1]++;
  for (let s = 0; s < slotCount; s++) counts[s + 1] += counts[s];
  const offsets = counts.slice();
  const at = counts.slice(0, slotCount);
  const positions = new Int32Array(offsets[slotCount]);
  for (let p = 0; p < slots.length; p++) if (valid(p)) positions[at[slots[p]]++] = p;
  return { offsets, positions };
}

const asTensor = (t: TensorInfo) => tf.engine().makeTensorFromTensorInfo(t);

/** The block (see the header): out [b, 2e + 2D], gradients to vectors, the context tables and the attention weights. */
export function webGpuDinBlock(x: DinBlockInputs): tf.Tensor2D {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`webGpuDinBlock: the active backend is '${tf.getBackend()}', not webgpu`);
  const b = x.batch;
  const len = x.seqLen;
  const [slotCount, d] = x.vectors.shape as [number, number];
  const [w1Rows, a1] = x.w1.shape as [number, number];
  const [w2Rows, a2] = x.w2.shape as [number, number];
  const [ctx0, ctx1] = x.context;
  const e = ctx0.table.shape[1] as number;
  if (
    w1Rows !== 4 * d || w2Rows !== a1 || x.w3.shape[0] !== a2 || x.w3.shape[1] !== 1 || x.b1.size !== a1 || x.b2.size !== a2 || x.b3.size !== 1 ||
    x.slots.length !== b + b * len || x.itemSeq.length !== b * len || ctx1.table.shape[1] !== e || ctx0.ids.length !== b || ctx1.ids.length !== b
  ) {
    throw new MmctrError(`webGpuDinBlock: shapes do not fit (b ${b}, L ${len}, vectors [${x.vectors.shape}], W1 [${x.w1.shape}], W2 [${x.w2.shape}], w3 [${x.w3.shape}])`);
  }
  if (len > DIN_BLOCK_MAX_LEN) throw new MmctrError(`webGpuDinBlock: history length ${len} > ${DIN_BLOCK_MAX_LEN}`);
  const rows = b * len;
  const width = 2 * e + 2 * d;
  const drop = x.dropout.map(({ rate, seed }) => {
    if (!(rate > 0)) return [0, 0, 0xffffffff, 1, 1];
    const u = dropoutUniforms(rate, seed);
    return [u.k1, u.k2, u.threshold, u.all ? 1 : 0, u.keep];
  });
  const s1 = gemmSplits(2 * d, a1, rows, TILE_128);
  const s1b = W1T_SPLITS(d, a1, b);
  const s2 = gemmSplits(a1 + 1, a2, rows, TILE_128);
  const uni = [b, len, d, a1, a2, e, width, ctx0.table.shape[0] as number, ctx1.table.shape[0] as number, ...drop[0], ...drop[1], s1, s2, s1b];
  const g = (m: number, n: number, k: number, splits = 1) => [...gemmUniforms(m, n, k, splits), ...uni];

  const pairs = new Int32Array(2 * b);
  for (let i = 0; i < b; i++) {
    pairs[2 * i] = ctx0.ids[i];
    pairs[2 * i + 1] = ctx1.ids[i];
  }
  // Host-built index data: uploads, not dispatches. Saved for the backward pass (the tape keeps saved tensors).
  const slots = tf.tensor1d(x.slots, 'int32');
  const seq = tf.tensor1d(x.itemSeq, 'int32');
  const ctxIds = tf.tensor1d(pairs, 'int32');
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [vec, t0, t1, w1, b1, w2, b2, w3, b3] = args as tf.Tensor[];
    const save = args[9] as tf.GradSaveFunc;
    const tq = allocOnGpu([b, a1]);
    const feat = allocOnGpu([b, width]);
    const z1 = allocOnGpu([rows, a1]);
    const z2 = allocOnGpu([rows, a2]);
    const scores = allocOnGpu([rows]);
    runRaw(TARGET, [vec, slots, w1, t0, t1, ctxIds, tq, feat], g(b, a1, d), gemmWorkgroups(b, a1));
    runRaw(HISTORY, [vec, slots, w1, tq, b1, z1], g(rows, a1, 2 * d), gemmWorkgroups(rows, a1, 1, TILE_128));
    runRaw(LAYER2, [z1, w2, b2, z2], g(rows, a2, a1), gemmWorkgroups(rows, a2, 1, TILE_128));
    runRaw(POOL, [z2, w3, b3, vec, slots, seq, scores, feat], uni, workgroupGrid(b));
    flushQueue(); // the GPU starts on the forward while the host records the rest of the step
    asTensor(tq).dispose();
    const kept = [z1, z2, scores].map(asTensor);
    save([vec, w1, w2, w3, ...kept, slots, seq, ctxIds]);
    return {
      value: asTensor(feat),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dout = dy as tf.Tensor;
        const [sv, sw1, sw2, sw3, sz1, sz2, sscores, sslots, sseq, sctx] = saved;
        const dscore = allocOnGpu([rows]);
        const p3 = allocOnGpu([b, a2 + 1]);
        runRaw(POOL_GRAD, [dout, sv, sslots, sseq, sz2, dscore, p3], uni, workgroupGrid(b));
        const dz1 = allocOnGpu([rows, a1]);
        runRaw(LAYER2_GRAD, [dscore, sw3, sz2, sw2, sz1, dz1], g(rows, a1, a2), gemmWorkgroups(rows, a1, 1, TILE_128));
        const dh = allocOnGpu([rows, d]);
        const tmp = allocOnGpu([rows, d]);
        runRaw(GRAD_X, [dz1, sv, sslots, sw1, sscores, dout, dh, tmp], g(rows, d, a1), gemmWorkgroups(rows, d, 1, TILE_128x64));
        const parts2 = allocOnGpu([s2, a1 + 1, a2]);
        runRaw(W2_PARTS, [sz1, dscore, sw3, sz2, parts2], g(a1 + 1, a2, rows, s2), gemmWorkgroups(a1 + 1, a2, s2, TILE_128));
        const parts1 = allocOnGpu([s1, 2 * d, a1]);
        const parts1t = allocOnGpu([s1b, d + 1, a1]);
        runRaw(
          W1_PARTS,
          [sv, sslots, dz1, parts1, parts1t],
          [...gemmUniforms(2 * d, a1, rows, s1), ...gemmUniforms(d + 1, a1, b, s1b), ...uni],
          gemmPairWorkgroups(2 * d, a1, d + 1, a1, s1, s1b, TILE_128),
        );
        const [dw1, db1, dw2, db2] = [allocOnGpu([4 * d, a1]), allocOnGpu([a1]), allocOnGpu([a1, a2]), allocOnGpu([a2])];
        runRaw(REDUCE_W, [parts1, parts1t, parts2, dw1, db1, dw2, db2], uni, workgroupGrid(Math.ceil(((4 * d + 1) * a1 + (a1 + 1) * a2) / WG)));
        const [dw3, db3] = [allocOnGpu([a2, 1]), allocOnGpu([1])];
        const [dt0, dt1] = [allocOnGpu([...ctx0.table.shape]), allocOnGpu([...ctx1.table.shape])];
        const smallWork = a2 + 1 + ((ctx0.table.shape[0] as number) + (ctx1.table.shape[0] as number)) * e;
        runRaw(REDUCE_SMALL, [p3, dout, sctx, dw3, db3, dt0, dt1], uni, workgroupGrid(Math.ceil(smallWork / WG)));
        flushQueue(); // the GPU runs the products above while the host builds the CSR lists
        const { offsets, positions } = positionsBySlot(x.slots, b, x.itemSeq, slotCount);
        const off = tf.tensor1d(offsets, 'int32');
        const pos = tf.tensor1d(positions.length > 0 ? positions : new Int32Array(1), 'int32');
        const dvec = allocOnGpu([slotCount, d]);
        runRaw(VECTORS_GRAD, [off, pos, tmp, dh, dout, dvec], [...uni, slotCount], workgroupGrid(Math.ceil((slotCount * d) / WG)));
        tf.dispose([off, pos, ...[dscore, p3, dz1, dh, tmp, parts1, parts1t, parts2].map(asTensor)]);
        return [dvec, dt0, dt1, dw1, db1, dw2, db2, dw3, db3].map(asTensor);
      },
    };
  });
  const out = op(x.vectors, ctx0.table, ctx1.table, x.w1, x.b1, x.w2, x.b2, x.w3, x.b3) as tf.Tensor2D;
  tf.dispose([slots, seq, ctxIds]); // the tape holds its own references (save) while a gradient may follow
  return out;
}
