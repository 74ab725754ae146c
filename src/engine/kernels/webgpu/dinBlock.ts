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
 *
 * Large batches: z1 and dz1 hold b·L·A1 floats (2 GiB at batch 16,384, history 64, A1 512), past what one storage
 * binding may hold (maxStorageBufferBindingSize: 2 GiB on an H100 under Dawn). The per-position programs (History,
 * Layer2, Pool; PoolGrad, Layer2Grad, GradX, W2Parts, W1Parts, VectorsGrad) then run over chunks of whole batch rows,
 * each chunk's per-position buffers under the limit (`dinBlockChunkRows`): 3 + 9 · chunks dispatches. Every forward
 * value and the context tables', w3's and b3's gradients are the unchunked block's bits (the same sums per element;
 * the dropout masks hash the element's index in the whole activation); the weight-gradient slices (W1, W2, biases)
 * and dV's order of positions follow the chunks: the same to rounding, and again the same bits on every run.
 *
 * Dice (`dice`: dcnDin's attention, layers/dice.ts) instead of ReLU: a = x·(p + α(1 − p)), p = sigmoid((x − μ)/σ)
 * with μ, σ over all b·L positions of the batch (padded ones included, as the layers). The statistics need every
 * chunk's z before any a is read, and the backward needs column sums of every chunk before any dz: per layer
 * `DiceStats` (per chunk: count, mean, Σ(x − mean)² per slice of positions) + `DiceCombine` (the slices in order:
 * μ, σ, α into a small stats buffer; running statistics updated in place), and backward `DiceGrad` (per chunk,
 * Σ gm, Σ gm·n, dα per slice) + `DiceGradCombine`; layer 1's dz is made in place from g1 (`DiceBack1`). a1, a2 and
 * dz2 stay computed on load. 7 + 14 · chunks dispatches (21 unchunked) instead of 3 + 9 · chunks; every sum in a
 * fixed order (the same bits on every run; chunked and unchunked differ by rounding of the statistics' slices).
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { WGSL_DROPOUT_HASH, dropoutUniforms } from './dropout';
import { TILE_128, TILE_128x64, gemmPairProgram, gemmPairWorkgroups, gemmProgram, gemmSplits, gemmUniforms, gemmWorkgroups } from './gemm';
import { type RawBinding, type RawProgram, allocOnGpu, flushQueue, ownBuffer, runRaw, storageBindingLimit, workgroupGrid, FLAT_MAIN } from './raw';

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
  /**
   * Dice instead of ReLU after each hidden layer (layers/dice.ts: batch statistics over all b·L positions, padded
   * ones included; running statistics updated in place): α per layer ([A1], [A2]; differentiated), the running
   * statistics, ε and momentum. Default undefined: ReLU.
   */
  dice?: DinBlockDice;
}

/** The Dice settings of the block (see `DinBlockInputs.dice`). */
export interface DinBlockDice {
  alpha: [tf.Tensor, tf.Tensor];
  running: [{ mean: tf.Variable; variance: tf.Variable }, { mean: tf.Variable; variance: tf.Variable }];
  epsilon: number;
  momentum: number;
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
  // The chunk (see `dinBlockChunkRows`): first batch row, batch rows, first position (r0 · len); split offsets of its
  // W1/W1ᵀ/W2 slices in the parts buffers; offset of its CSR in the offsets list; 1 = add to dV (not the first).
  { name: 'r0', type: 'i32' },
  { name: 'cb', type: 'i32' },
  { name: 'p0', type: 'i32' },
  { name: 'o1', type: 'i32' },
  { name: 'o1b', type: 'i32' },
  { name: 'o2', type: 'i32' },
  { name: 'vb', type: 'i32' },
  { name: 'acc', type: 'i32' },
  // The slot of item id 0 (padding) among the history positions, −1 when none is padding: a position is valid
  // where its slot differs (no item_seq upload: the slots say it).
  { name: 'zs', type: 'i32' },
];

const r = (name: string): RawBinding => ({ name, access: 'read', type: 'f32' });
const ri = (name: string): RawBinding => ({ name, access: 'read', type: 'i32' });
const rw = (name: string): RawBinding => ({ name, access: 'read_write', type: 'f32' });

/*
 * Positions (`row` below) are the chunk's: z1, z2, dz1, dh, tmp hold the chunk's positions only; the batch-wide
 * buffers (slots, scores, dscore, out, dout, p3) are indexed at p0 + row or r0 + batch row. The dropout
 * mask of element (position, column) hashes its index in the whole [b·L, A] activation (u32, as the layers'
 * dropout numbers it), so chunks draw the masks of the unchunked block.
 */
/** Index of element (chunk position `row`, column `q`) in the whole [b·L, w] activation, for the dropout hash. */
const HASH_IDX_FN = `
fn hashIdx(row : i32, q : i32, w : i32) -> u32 { return u32(u.p0 + row) * u32(w) + u32(q); }`;
/** a1 at (row, q) from z1 (relu or Dice, then layer 1's dropout). Needs z1 (and st1 with Dice). */
const a1Fn = (dice: boolean) => `${HASH_IDX_FN}
fn a1v(row : i32, q : i32) -> f32 {
  let zv = z1[row * u.a1 + q];
  ${dice ? '' : 'if (!(zv > 0.0)) { return 0.0; }'}
  if (u.alla == 0 && mmctrDropoutHash(hashIdx(row, q, u.a1), u.k1a, u.k2a) >= u.thra) { return 0.0; }
  return ${dice ? 'dice1(zv, q)' : 'zv'} / u.keepa;
}`;
/** a2 at (row, c) from z2. Needs z2, st2 with Dice (and a1Fn or HASH_IDX_FN before it). */
const a2Fn = (dice: boolean) => `
fn a2v(row : i32, c : i32) -> f32 {
  let zv = z2[row * u.a2 + c];
  ${dice ? '' : 'if (!(zv > 0.0)) { return 0.0; }'}
  if (u.allb == 0 && mmctrDropoutHash(hashIdx(row, c, u.a2), u.k1b, u.k2b) >= u.thrb) { return 0.0; }
  return ${dice ? 'dice2(zv, c)' : 'zv'} / u.keepb;
}`;
/**
 * dz2 at (row, c) = ds·w3 through layer 2's dropout and relu or Dice (Dice: its batch-statistics backward, the
 * column sums in st2). Needs dscore, w3, z2 (st2) (and HASH_IDX_FN).
 */
const dz2Fn = (dice: boolean) =>
  dice
    ? `
fn dz2v(row : i32, c : i32) -> f32 {
  var g = 0.0;
  if (u.allb != 0 || mmctrDropoutHash(hashIdx(row, c, u.a2), u.k1b, u.k2b) < u.thrb) { g = dscore[u.p0 + row] * w3[c] / u.keepb; }
  return diceGrad2(g, z2[row * u.a2 + c], c);
}`
    : `
fn dz2v(row : i32, c : i32) -> f32 {
  if (!(z2[row * u.a2 + c] > 0.0)) { return 0.0; }
  if (u.allb == 0 && mmctrDropoutHash(hashIdx(row, c, u.a2), u.k1b, u.k2b) >= u.thrb) { return 0.0; }
  return dscore[u.p0 + row] * w3[c] / u.keepb;
}`;

/**
 * Dice of layer k (1 or 2) from its statistics buffer st_k [5, A_k]: rows μ, σ = √(var + ε) (batch, biased), α,
 * then (backward) G = Σ gm and Gn = Σ gm·n over all b·L positions, gm = g·x·(1 − α)·p(1 − p):
 *   n = (x − μ)/σ, p = sigmoid(n), dice(x) = x·(p + α(1 − p))
 *   d/dx = g·(p + α(1 − p)) + (gm − G/N − n·Gn/N)/σ      (the batch norm's backward through μ and σ)
 */
function diceFns(k: 1 | 2): string {
  const st = `st${k}`;
  const w = k === 1 ? 'u.a1' : 'u.a2';
  return `
fn dice${k}(zv : f32, c : i32) -> f32 {
  let nv = (zv - ${st}[c]) / ${st}[${w} + c];
  let p = 1.0 / (1.0 + exp(-nv));
  return zv * (p + ${st}[2 * ${w} + c] * (1.0 - p));
}
fn diceGrad${k}(g : f32, zv : f32, c : i32) -> f32 {
  let sd = ${st}[${w} + c];
  let nv = (zv - ${st}[c]) / sd;
  let p = 1.0 / (1.0 + exp(-nv));
  let al = ${st}[2 * ${w} + c];
  let gm = g * zv * (1.0 - al) * p * (1.0 - p);
  let nn = f32(u.b * u.len);
  return g * (p + al * (1.0 - p)) + (gm - ${st}[3 * ${w} + c] / nn - nv * ${st}[4 * ${w} + c] / nn) / sd;
}`;
}

/** Target and history vectors of a chunk position by slot. Needs vec, slots. */
const VEC_FN = `
fn tv(row : i32, q : i32) -> f32 { return vec[slots[u.r0 + row / u.len] * u.d + q]; }
fn hv(row : i32, q : i32) -> f32 { return vec[slots[u.b + u.p0 + row] * u.d + q]; }`;

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
  store: 'z1[r * u.a1 + c] = acc0 + tq[(u.r0 + r / u.len) * u.a1 + c] + b1[c];',
});

const layer2 = (dice: boolean) => gemmProgram({
  key: `mmctrDinBlockLayer2${dice ? 'Dice' : ''}`,
  bindings: [r('z1'), r('w2'), r('b2'), rw('z2'), ...(dice ? [r('st1')] : [])],
  uniforms: U,
  helpers: `${WGSL_DROPOUT_HASH}${dice ? diceFns(1) : ''}${a1Fn(dice)}`,
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
  if (row >= u.cb) { return; }
  let grow = u.r0 + row;
  let li = i32(lid);`;

const pool = (dice: boolean): RawProgram => ({
  key: `mmctrDinBlockPool${dice ? 'Dice' : ''}`,
  bindings: [r('z2'), r('w3'), r('b3'), r('vec'), ri('slots'), rw('scores'), rw('feat'), ...(dice ? [r('st2')] : [])],
  uniforms: U,
  body: `${WGSL_DROPOUT_HASH}${HASH_IDX_FN}${dice ? diceFns(2) : ''}${a2Fn(dice)}${ROW_HEAD}
  for (var l = li; l < u.len; l = l + ${WG}) {
    let p = row * u.len + l;
    var s = 0.0;
    if (slots[u.b + u.p0 + p] != u.zs) {
      for (var c = 0; c < u.a2; c = c + 1) { s = s + a2v(p, c) * w3[c]; }
      s = s + b3[0];
    }
    sc[l] = s;
    scores[u.p0 + p] = s;
  }
  workgroupBarrier();
  for (var q = li; q < u.d; q = q + ${WG}) {
    var acc = 0.0;
    for (var l = 0; l < u.len; l = l + 1) { acc = acc + sc[l] * vec[slots[u.b + grow * u.len + l] * u.d + q]; }
    feat[grow * u.width + 2 * u.e + q] = vec[slots[grow] * u.d + q];
    feat[grow * u.width + 2 * u.e + u.d + q] = acc;
  }
}`,
});

const poolGrad = (dice: boolean): RawProgram => ({
  key: `mmctrDinBlockPoolGrad${dice ? 'Dice' : ''}`,
  bindings: [r('dout'), r('vec'), ri('slots'), r('z2'), rw('dscore'), rw('p3'), ...(dice ? [r('st2')] : [])],
  uniforms: U,
  body: `${WGSL_DROPOUT_HASH}${HASH_IDX_FN}${dice ? diceFns(2) : ''}${a2Fn(dice)}${ROW_HEAD}
  let dp = grow * u.width + 2 * u.e + u.d;
  for (var l = li; l < u.len; l = l + ${WG}) {
    let p = u.p0 + row * u.len + l;
    var g = 0.0;
    let sl = slots[u.b + p];
    if (sl != u.zs) {
      let o = sl * u.d;
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
    p3[grow * (u.a2 + 1) + c] = acc;
  }
}`,
});

/** dz1 (ReLU), or with Dice g1 = dL/d dice1 (through the dropout only; `DiceBack` makes it dz1 in place). */
const layer2Grad = (dice: boolean) => gemmProgram({
  key: `mmctrDinBlockLayer2Grad${dice ? 'Dice' : ''}`,
  bindings: dice ? [r('dscore'), r('w3'), r('z2'), r('w2'), rw('dz1'), r('st2')] : [r('dscore'), r('w3'), r('z2'), r('w2'), r('z1'), rw('dz1')],
  uniforms: U,
  helpers: `${WGSL_DROPOUT_HASH}${HASH_IDX_FN}${dice ? diceFns(2) : ''}${dz2Fn(dice)}`,
  loadA: 'dz2v(r, k)',
  loadB: ['w2[c * u.a2 + k]'],
  tile: TILE_128,
  bContig: 'k',
  store: `let i = r * u.a1 + c;
        var g = 0.0;
        if (${dice ? '' : 'z1[i] > 0.0 && '}(u.alla != 0 || mmctrDropoutHash(hashIdx(r, c, u.a1), u.k1a, u.k2a) < u.thra)) { g = acc0 / u.keepa; }
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
  store: `let bi = u.r0 + r / u.len;
        let t0 = tv(r, c);
        let h0 = hv(r, c);
        dh[r * u.d + c] = acc0 + t0 * acc1 + scores[u.p0 + r] * dout[bi * u.width + 2 * u.e + u.d + c];
        tmp[r * u.d + c] = acc2 + h0 * acc1;`,
});

const w2Parts = (dice: boolean) => gemmProgram({
  key: `mmctrDinBlockW2Parts${dice ? 'Dice' : ''}`,
  bindings: [r('z1'), r('dscore'), r('w3'), r('z2'), rw('parts'), ...(dice ? [r('st1'), r('st2')] : [])],
  uniforms: U,
  helpers: `${WGSL_DROPOUT_HASH}${dice ? diceFns(1) + diceFns(2) : ''}${a1Fn(dice)}${dz2Fn(dice)}`,
  loadA: 'select(1.0, a1v(k, r), r < u.a1)',
  loadB: ['dz2v(k, c)'],
  tile: TILE_128,
  aContig: 'm',
  store: 'parts[((u.o2 + split) * u.gm + r) * u.gn + c] = acc0;',
});

/**
 * Dice statistics. Uniforms after U: the layer's width `sw`, slices per chunk `ss` of `sper` positions each, this
 * chunk's first slice `sbase`, all slices `stot`; ε, momentum, 1 − momentum and N/(N − 1) (running variance).
 */
const U_STATS: RawProgram['uniforms'] = [
  ...U,
  { name: 'sw', type: 'i32' },
  { name: 'ss', type: 'i32' },
  { name: 'sper', type: 'i32' },
  { name: 'sbase', type: 'i32' },
  { name: 'stot', type: 'i32' },
  { name: 'eps', type: 'f32' },
  { name: 'mom', type: 'f32' },
  { name: 'keepMom', type: 'f32' },
  { name: 'unbias', type: 'f32' },
];
/** Columns and slices per workgroup of the per-slice statistics programs. */
const ST_COLS = 64;
const ST_SLICES = 4;
/** Per (column, slice of the chunk's positions) thread: `first` runs once over the slice, `second` again. */
const sliceMain = (init: string, first: string, second: string, store: string) => `
@compute @workgroup_size(${ST_COLS}, ${ST_SLICES})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let c = i32(wid.x) * ${ST_COLS} + i32(lid.x);
  let sl = i32(wid.y) * ${ST_SLICES} + i32(lid.y);
  if (c >= u.sw || sl >= u.ss) { return; }
  let rBegin = sl * u.sper;
  let rEnd = min(rBegin + u.sper, u.cb * u.len);
  ${init}
  for (var row = rBegin; row < rEnd; row = row + 1) { ${first} }
  ${second ? `for (var row = rBegin; row < rEnd; row = row + 1) { ${second} }` : ''}
  let o = (u.sbase + sl) * 3 * u.sw;
  ${store}
}`;

/** Per slice of a chunk's positions: count, mean and Σ(x − mean)² of each column of z (two passes over the slice). */
const STATS_PARTS: RawProgram = {
  key: 'mmctrDinBlockDiceStats',
  bindings: [r('z'), rw('parts')],
  uniforms: U_STATS,
  body: sliceMain(
    'var s = 0.0;',
    's = s + z[row * u.sw + c];',
    '',
    `let cnt = max(rEnd - rBegin, 0);
  var mean = 0.0;
  if (cnt > 0) { mean = s / f32(cnt); }
  var q = 0.0;
  for (var row = rBegin; row < rEnd; row = row + 1) { let dv = z[row * u.sw + c] - mean; q = q + dv * dv; }
  parts[o + c] = f32(cnt);
  parts[o + u.sw + c] = mean;
  parts[o + 2 * u.sw + c] = q;`,
  ),
};

/**
 * Per column: the slices combined in order (Chan et al.'s pairwise update) into μ and the biased variance over all
 * positions; st = [μ, √(var + ε), α, ·, ·]; running μ and (unbiased) variance updated in place.
 */
const STATS_COMBINE: RawProgram = {
  key: 'mmctrDinBlockDiceCombine',
  bindings: [r('parts'), r('alpha'), rw('st'), rw('runMean'), rw('runVar')],
  uniforms: U_STATS,
  body: `${FLAT_MAIN}
  if (idx >= u.sw) { return; }
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var sl = 0; sl < u.stot; sl = sl + 1) {
    let o = sl * 3 * u.sw;
    let nb = parts[o + idx];
    if (nb > 0.0) {
      let nab = n + nb;
      let dv = parts[o + u.sw + idx] - mean;
      mean = mean + dv * (nb / nab);
      m2 = m2 + parts[o + 2 * u.sw + idx] + dv * dv * (n * nb / nab);
      n = nab;
    }
  }
  let variance = m2 / n;
  st[idx] = mean;
  st[u.sw + idx] = sqrt(variance + u.eps);
  st[2 * u.sw + idx] = alpha[idx];
  runMean[idx] = runMean[idx] * u.keepMom + mean * u.mom;
  runVar[idx] = runVar[idx] * u.keepMom + (variance * u.unbias) * u.mom;
}`,
};

/** Per slice: Σ gm, Σ gm·n, Σ g·x·(1 − p) of each column (g = dL/d dice(x), gm as in `diceFns`). */
const diceGradSums = (g: string, k: 1 | 2) => {
  const st = `st${k}`;
  return sliceMain(
    'var s0 = 0.0; var s1 = 0.0; var s2 = 0.0;',
    `let zv = z[row * u.sw + c];
    let gv = ${g};
    let nv = (zv - ${st}[c]) / ${st}[u.sw + c];
    let p = 1.0 / (1.0 + exp(-nv));
    let gm = gv * zv * (1.0 - ${st}[2 * u.sw + c]) * p * (1.0 - p);
    s0 = s0 + gm;
    s1 = s1 + gm * nv;
    s2 = s2 + gv * zv * (1.0 - p);`,
    '',
    `parts[o + c] = s0;
  parts[o + u.sw + c] = s1;
  parts[o + 2 * u.sw + c] = s2;`,
  );
};
/** Layer 2: g = ds·w3 through the dropout (z = z2). */
const DICE_GRAD_PARTS2: RawProgram = {
  key: 'mmctrDinBlockDiceGrad2',
  bindings: [r('dscore'), r('w3'), r('z'), r('st2'), rw('parts')],
  uniforms: U_STATS,
  body: `${WGSL_DROPOUT_HASH}${HASH_IDX_FN}
fn g2(row : i32, c : i32) -> f32 {
  if (u.allb == 0 && mmctrDropoutHash(hashIdx(row, c, u.a2), u.k1b, u.k2b) >= u.thrb) { return 0.0; }
  return dscore[u.p0 + row] * w3[c] / u.keepb;
}${diceGradSums('g2(row, c)', 2)}`,
};
/** Layer 1: g from LayerGrad2's output (z = z1). */
const DICE_GRAD_PARTS1: RawProgram = {
  key: 'mmctrDinBlockDiceGrad1',
  bindings: [r('g'), r('z'), r('st1'), rw('parts')],
  uniforms: U_STATS,
  body: diceGradSums('g[row * u.sw + c]', 1),
};
/** Per column: the slices summed in order into st rows 3 and 4 (G, Gn) and dα. */
const DICE_GRAD_COMBINE: RawProgram = {
  key: 'mmctrDinBlockDiceGradCombine',
  bindings: [r('parts'), rw('st'), rw('dalpha')],
  uniforms: U_STATS,
  body: `${FLAT_MAIN}
  if (idx >= u.sw) { return; }
  var s0 = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  for (var sl = 0; sl < u.stot; sl = sl + 1) {
    let o = sl * 3 * u.sw;
    s0 = s0 + parts[o + idx];
    s1 = s1 + parts[o + u.sw + idx];
    s2 = s2 + parts[o + 2 * u.sw + idx];
  }
  st[3 * u.sw + idx] = s0;
  st[4 * u.sw + idx] = s1;
  dalpha[idx] = s2;
}`,
};
/** dz1 = Dice's backward of g1, in place over a chunk's [positions, A1]. */
const DICE_BACK1: RawProgram = {
  key: 'mmctrDinBlockDiceBack1',
  bindings: [rw('dz1'), r('z1'), r('st1')],
  uniforms: U,
  body: `${diceFns(1)}${FLAT_MAIN}
  if (idx >= u.cb * u.len * u.a1) { return; }
  let c = idx % u.a1;
  dz1[idx] = diceGrad1(dz1[idx], z1[idx], c);
}`,
};

/** The activation-dependent programs, built once per activation. */
const PROGRAMS = [false, true].map((dice) => ({ layer2: layer2(dice), pool: pool(dice), poolGrad: poolGrad(dice), layer2Grad: layer2Grad(dice), w2Parts: w2Parts(dice) }));

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
  return vec[slots[u.r0 + row] * u.d + col];
}
fn dz1Sum(row : i32, col : i32) -> f32 {
  var s = 0.0;
  for (var l = 0; l < u.len; l = l + 1) { s = s + dz1[(row * u.len + l) * u.a1 + col]; }
  return s;
}`,
  parts: [
    { loadA: 'featH(r, k)', loadB: ['dz1[k * u.a1 + c]'], store: 'parts[((u.o1 + split) * u.gm0 + r) * u.gn0 + c] = acc0;' },
    { loadA: 'featT1(r, k)', loadB: ['dz1Sum(k, c)'], store: 'partsT[((u.o1b + split) * u.gm1 + r) * u.gn1 + c] = acc0;' },
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

/**
 * dV [U, D]: per distinct item, the sum over its positions in the chunk (CSR: offsets [U + 1] from `vb`, positions)
 * of dt or dh, added to the previous chunks' sum (`acc`).
 */
const VECTORS_GRAD: RawProgram = {
  key: 'mmctrDinBlockVectorsGrad',
  bindings: [ri('offsets'), ri('positions'), r('tmp'), r('dh'), r('dout'), rw('dvec')],
  uniforms: [...U, { name: 'slotsN', type: 'i32' }],
  body: `${FLAT_MAIN}
  if (idx >= u.slotsN * u.d) { return; }
  let sl = idx / u.d;
  let q = idx - sl * u.d;
  var s = 0.0;
  if (u.acc != 0) { s = dvec[idx]; }
  for (var i = offsets[u.vb + sl]; i < offsets[u.vb + sl + 1]; i = i + 1) {
    let p = positions[i];
    if (p < u.b) {
      s = s + dout[p * u.width + 2 * u.e + q];
      for (var l = 0; l < u.len; l = l + 1) { s = s + tmp[((p - u.r0) * u.len + l) * u.d + q]; }
    } else {
      s = s + dh[(p - u.b - u.p0) * u.d + q];
    }
  }
  dvec[idx] = s;
}`,
};

/**
 * Host-built CSR of the positions of every slot (targets 0..b−1, then history positions b + i), padding positions
 * (item id 0) left out: they send no gradient. With batch rows in chunks of `chunkRows`, one CSR per chunk of its
 * own positions, concatenated (`offsets` [chunks · slotCount + 1]: chunk c's lists start at c · slotCount). A
 * counting sort in position order, typed arrays only.
 */
export function positionsBySlot(
  slots: Int32Array,
  b: number,
  itemSeq: Int32Array,
  slotCount: number,
  chunkRows = b,
): { offsets: Int32Array; positions: Int32Array } {
  const len = b > 0 ? itemSeq.length / b : 0;
  const chunks = Math.max(1, Math.ceil(b / chunkRows));
  const offsets = new Int32Array(chunks * slotCount + 1);
  for (let c = 0, r0 = 0; c < chunks; c++, r0 += chunkRows) {
    const r1 = Math.min(b, r0 + chunkRows);
    const key = c * slotCount + 1;
    for (let p = r0; p < r1; p++) offsets[key + slots[p]]++;
    for (let i = r0 * len; i < r1 * len; i++) if (itemSeq[i] > 0) offsets[key + slots[b + i]]++;
  }
  for (let k = 0; k < chunks * slotCount; k++) offsets[k + 1] += offsets[k];
  const at = offsets.slice(0, chunks * slotCount);
  const positions = new Int32Array(offsets[chunks * slotCount]);
  for (let c = 0, r0 = 0; c < chunks; c++, r0 += chunkRows) {
    const r1 = Math.min(b, r0 + chunkRows);
    const key = c * slotCount;
    for (let p = r0; p < r1; p++) positions[at[key + slots[p]]++] = p;
    for (let i = r0 * len; i < r1 * len; i++) if (itemSeq[i] > 0) positions[at[key + slots[b + i]]++] = b + i;
  }
  return { offsets, positions };
}

/**
 * Overrides of the block's sizing (tests, benchmarks). `maxBindingBytes`: the largest per-position buffer
 * (z1, z2, dz1 [positions, A], dh, tmp [positions, D]) one chunk of batch rows may have, bytes. Default undefined:
 * the device's limit (`storageBindingLimit`).
 */
export const dinBlockOptions: { maxBindingBytes?: number } = {};

/**
 * Batch rows per chunk: the block runs its per-position programs over chunks of whole batch rows so that every
 * per-position buffer (positions × max(A1, A2, D) floats) fits one storage binding. The batch in equal chunks
 * (the last one shorter); one chunk (the whole batch) when it fits.
 */
export function dinBlockChunkRows(b: number, len: number, widest: number, limitBytes: number): number {
  const fit = Math.floor(limitBytes / (4 * len * widest));
  if (fit < 1) {
    throw new MmctrError(
      `webGpuDinBlock: one batch row's activations (history ${len} × ${widest} floats) exceed the storage-buffer limit of ${limitBytes} bytes`,
    );
  }
  if (fit >= b) return b;
  return Math.ceil(b / Math.ceil(b / fit));
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
  const dice = x.dice;
  if (dice && (dice.alpha[0].size !== a1 || dice.alpha[1].size !== a2 || dice.running[0].mean.size !== a1 || dice.running[1].variance.size !== a2)) {
    throw new MmctrError(`webGpuDinBlock: Dice α [${dice.alpha[0].shape}], [${dice.alpha[1].shape}] do not fit attention units ${a1}, ${a2}`);
  }
  const P = PROGRAMS[dice ? 1 : 0];
  const rows = b * len;
  const width = 2 * e + 2 * d;
  const drop = x.dropout.map(({ rate, seed }) => {
    if (!(rate > 0)) return [0, 0, 0xffffffff, 1, 1];
    const u = dropoutUniforms(rate, seed);
    return [u.k1, u.k2, u.threshold, u.all ? 1 : 0, u.keep];
  });
  // Chunks of batch rows (one unless a per-position buffer would pass the binding limit): the per-position
  // programs run once per chunk; their weight-gradient slices go to one parts buffer each (chunk after chunk), dV
  // adds the chunks in order. The same splits for every chunk (the last one's may be partly empty: zeros).
  const cbMax = dinBlockChunkRows(b, len, Math.max(a1, a2, d), dinBlockOptions.maxBindingBytes ?? storageBindingLimit());
  const chunks: { r0: number; cb: number }[] = [];
  for (let r0 = 0; r0 < b; r0 += cbMax) chunks.push({ r0, cb: Math.min(cbMax, b - r0) });
  const rowsMax = cbMax * len;
  const s1 = gemmSplits(2 * d, a1, rowsMax, TILE_128);
  const s1b = W1T_SPLITS(d, a1, cbMax);
  const s2 = gemmSplits(a1 + 1, a2, rowsMax, TILE_128);
  const nc = chunks.length;
  const pad = x.itemSeq.indexOf(0);
  const zeroSlot = pad < 0 ? -1 : x.slots[b + pad];
  const base = [b, len, d, a1, a2, e, width, ctx0.table.shape[0] as number, ctx1.table.shape[0] as number, ...drop[0], ...drop[1], nc * s1, nc * s2, nc * s1b];
  /** The uniforms of chunk k (k = 0 for the batch-wide programs, whose chunk fields go unread). */
  const uniOf = (k: number) => {
    const { r0, cb } = chunks[k];
    return [...base, r0, cb, r0 * len, k * s1, k * s1b, k * s2, k * slotCount, k > 0 ? 1 : 0, zeroSlot];
  };
  const uni0 = uniOf(0);
  // Dice statistics: each chunk's positions in slices of `sper` (≥ 64 positions, ≤ 256 slices per chunk).
  const sper = Math.max(64, Math.ceil(rowsMax / 256));
  const ss = Math.ceil(rowsMax / sper);
  const mom = dice?.momentum ?? 0;
  const statsUni = (k: number, width: number) => [...uniOf(k), width, ss, sper, k * ss, nc * ss, dice?.epsilon ?? 0, mom, 1 - mom, rows > 1 ? rows / (rows - 1) : 1];
  const statsGrid = (width: number): [number, number, number] => [Math.ceil(width / ST_COLS), Math.ceil(ss / ST_SLICES), 1];
  const g = (m: number, n: number, kk: number, uni: number[], splits = 1) => [...gemmUniforms(m, n, kk, splits), ...uni];

  const pairs = new Int32Array(2 * b);
  for (let i = 0; i < b; i++) {
    pairs[2 * i] = ctx0.ids[i];
    pairs[2 * i + 1] = ctx1.ids[i];
  }
  // The GPU starts on the queued item vectors (the item encoder's dispatch) while the host uploads the slots.
  flushQueue();
  // Host-built index data: uploads, not dispatches. Saved for the backward pass (the tape keeps saved tensors).
  const slots = tf.tensor1d(x.slots, 'int32');
  const ctxIds = tf.tensor1d(pairs, 'int32');
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [vec, t0, t1, w1, b1, w2, b2, w3, b3, al1, al2] = args as tf.Tensor[];
    const save = args[dice ? 11 : 9] as tf.GradSaveFunc;
    const tq = allocOnGpu([b, a1]);
    const feat = allocOnGpu([b, width]);
    const scores = allocOnGpu([rows]);
    runRaw(TARGET, [vec, slots, w1, t0, t1, ctxIds, tq, feat], g(b, a1, d, uni0), gemmWorkgroups(b, a1));
    const z1s: TensorInfo[] = [];
    const z2s: TensorInfo[] = [];
    const sts: TensorInfo[] = [];
    /** Dice: the statistics of layer i's z over all chunks into st (and the running statistics). */
    const diceStats = (i: 0 | 1, zs: TensorInfo[], width: number, alpha: tf.Tensor) => {
      const parts = allocOnGpu([nc * ss, 3, width]);
      zs.forEach((z, k) => runRaw(STATS_PARTS, [z, parts], statsUni(k, width), statsGrid(width)));
      const st = allocOnGpu([5, width]);
      const { mean, variance } = dice!.running[i];
      ownBuffer(mean);
      ownBuffer(variance);
      runRaw(STATS_COMBINE, [parts, alpha, st, mean, variance], statsUni(0, width), workgroupGrid(Math.ceil(width / WG)), [mean, variance]);
      asTensor(parts).dispose();
      sts.push(st);
    };
    chunks.forEach(({ cb }, k) => {
      const rc = cb * len;
      const z1 = allocOnGpu([rc, a1]);
      runRaw(HISTORY, [vec, slots, w1, tq, b1, z1], g(rc, a1, 2 * d, uniOf(k)), gemmWorkgroups(rc, a1, 1, TILE_128));
      z1s.push(z1);
    });
    if (dice) diceStats(0, z1s, a1, al1);
    chunks.forEach(({ cb }, k) => {
      const rc = cb * len;
      const z2 = allocOnGpu([rc, a2]);
      runRaw(P.layer2, [z1s[k], w2, b2, z2, ...sts.slice(0, 1)], g(rc, a2, a1, uniOf(k)), gemmWorkgroups(rc, a2, 1, TILE_128));
      z2s.push(z2);
    });
    if (dice) diceStats(1, z2s, a2, al2);
    chunks.forEach(({ cb }, k) => {
      runRaw(P.pool, [z2s[k], w3, b3, vec, slots, scores, feat, ...sts.slice(1, 2)], uniOf(k), workgroupGrid(cb));
    });
    flushQueue(); // the GPU starts on the forward while the host records the rest of the step
    asTensor(tq).dispose();
    save([vec, w1, w2, w3, asTensor(scores), slots, ctxIds, ...z1s.map(asTensor), ...z2s.map(asTensor), ...sts.map(asTensor)]);
    return {
      value: asTensor(feat),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dout = dy as tf.Tensor;
        const [sv, sw1, sw2, sw3, sscores, sslots, sctx] = saved;
        const sz1 = saved.slice(7, 7 + nc);
        const sz2 = saved.slice(7 + nc, 7 + 2 * nc);
        const sst = saved.slice(7 + 2 * nc); // Dice: st1, st2
        const dscore = allocOnGpu([rows]);
        const p3 = allocOnGpu([b, a2 + 1]);
        const parts2 = allocOnGpu([nc * s2, a1 + 1, a2]);
        const parts1 = allocOnGpu([nc * s1, 2 * d, a1]);
        const parts1t = allocOnGpu([nc * s1b, d + 1, a1]);
        const dhs: TensorInfo[] = [];
        const tmps: TensorInfo[] = [];
        const dalphas: TensorInfo[] = [];
        /** Dice: layer i's column sums of the backward over all chunks (from g = dL/d dice) into st, and dα. */
        const diceGrad = (i: 0 | 1, prog: RawProgram, operands: (k: number) => TensorInfo[], width: number) => {
          const parts = allocOnGpu([nc * ss, 3, width]);
          chunks.forEach((_, k) => runRaw(prog, [...operands(k), parts], statsUni(k, width), statsGrid(width)));
          const dalpha = allocOnGpu([width]);
          runRaw(DICE_GRAD_COMBINE, [parts, sst[i], dalpha], statsUni(0, width), workgroupGrid(Math.ceil(width / WG)));
          asTensor(parts).dispose();
          dalphas[i] = dalpha;
        };
        /** The products after dz1 of chunk k (then dz1 goes). */
        const fromDz1 = (k: number, dz1: TensorInfo) => {
          const rc = chunks[k].cb * len;
          const uni = uniOf(k);
          const dh = allocOnGpu([rc, d]);
          const tmp = allocOnGpu([rc, d]);
          runRaw(GRAD_X, [dz1, sv, sslots, sw1, sscores, dout, dh, tmp], g(rc, d, a1, uni), gemmWorkgroups(rc, d, 1, TILE_128x64));
          runRaw(
            W1_PARTS,
            [sv, sslots, dz1, parts1, parts1t],
            [...gemmUniforms(2 * d, a1, rc, s1), ...gemmUniforms(d + 1, a1, chunks[k].cb, s1b), ...uni],
            gemmPairWorkgroups(2 * d, a1, d + 1, a1, s1, s1b, TILE_128),
          );
          asTensor(dz1).dispose();
          dhs.push(dh);
          tmps.push(tmp);
        };
        /** dz1 (ReLU) or g1 (Dice) of chunk k, and layer 2's weight-gradient slices. */
        const layer2Back = (k: number) => {
          const rc = chunks[k].cb * len;
          const uni = uniOf(k);
          const dz1 = allocOnGpu([rc, a1]);
          const l2 = dice ? [dscore, sw3, sz2[k], sw2, dz1, sst[1]] : [dscore, sw3, sz2[k], sw2, sz1[k], dz1];
          runRaw(P.layer2Grad, l2, g(rc, a1, a2, uni), gemmWorkgroups(rc, a1, 1, TILE_128));
          runRaw(P.w2Parts, [sz1[k], dscore, sw3, sz2[k], parts2, ...sst], g(a1 + 1, a2, rc, uni, s2), gemmWorkgroups(a1 + 1, a2, s2, TILE_128));
          return dz1;
        };
        if (!dice) {
          chunks.forEach(({ cb }, k) => {
            runRaw(P.poolGrad, [dout, sv, sslots, sz2[k], dscore, p3], uniOf(k), workgroupGrid(cb));
            fromDz1(k, layer2Back(k));
          });
        } else {
          // Every chunk's dscore before layer 2's Dice sums; every chunk's g1 before layer 1's.
          chunks.forEach(({ cb }, k) => runRaw(P.poolGrad, [dout, sv, sslots, sz2[k], dscore, p3, sst[1]], uniOf(k), workgroupGrid(cb)));
          diceGrad(1, DICE_GRAD_PARTS2, (k) => [dscore, sw3, sz2[k], sst[1]], a2);
          const g1s = chunks.map((_, k) => layer2Back(k));
          diceGrad(0, DICE_GRAD_PARTS1, (k) => [g1s[k], sz1[k], sst[0]], a1);
          g1s.forEach((dz1, k) => {
            runRaw(DICE_BACK1, [dz1, sz1[k], sst[0]], uniOf(k), workgroupGrid(Math.ceil((chunks[k].cb * len * a1) / WG)));
            fromDz1(k, dz1);
          });
        }
        const [dw1, db1, dw2, db2] = [allocOnGpu([4 * d, a1]), allocOnGpu([a1]), allocOnGpu([a1, a2]), allocOnGpu([a2])];
        runRaw(REDUCE_W, [parts1, parts1t, parts2, dw1, db1, dw2, db2], uni0, workgroupGrid(Math.ceil(((4 * d + 1) * a1 + (a1 + 1) * a2) / WG)));
        const [dw3, db3] = [allocOnGpu([a2, 1]), allocOnGpu([1])];
        const [dt0, dt1] = [allocOnGpu([...ctx0.table.shape]), allocOnGpu([...ctx1.table.shape])];
        const smallWork = a2 + 1 + ((ctx0.table.shape[0] as number) + (ctx1.table.shape[0] as number)) * e;
        runRaw(REDUCE_SMALL, [p3, dout, sctx, dw3, db3, dt0, dt1], uni0, workgroupGrid(Math.ceil(smallWork / WG)));
        flushQueue(); // the GPU runs the products above while the host builds the CSR lists
        const { offsets, positions } = positionsBySlot(x.slots, b, x.itemSeq, slotCount, cbMax);
        const off = tf.tensor1d(offsets, 'int32');
        const pos = tf.tensor1d(positions.length > 0 ? positions : new Int32Array(1), 'int32');
        const dvec = allocOnGpu([slotCount, d]);
        chunks.forEach((_, k) => {
          runRaw(VECTORS_GRAD, [off, pos, tmps[k], dhs[k], dout, dvec], [...uniOf(k), slotCount], workgroupGrid(Math.ceil((slotCount * d) / WG)));
        });
        tf.dispose([off, pos, ...[dscore, p3, parts1, parts1t, parts2, ...dhs, ...tmps].map(asTensor)]);
        return [dvec, dt0, dt1, dw1, db1, dw2, db2, dw3, db3, ...dalphas].map(asTensor);
      },
    };
  });
  const out = op(x.vectors, ctx0.table, ctx1.table, x.w1, x.b1, x.w2, x.b2, x.w3, x.b3, ...(dice ? dice.alpha : [])) as tf.Tensor2D;
  tf.dispose([slots, ctxIds]); // the tape holds its own references (save) while a gradient may follow
  return out;
}
