/**
 * An output network (src/models/layers/mlpBlock.ts `MlpBlock` in training: hidden layers Linear → batch norm →
 * ReLU → seeded dropout, then a narrow output Linear) as one custom op on webgpu:
 *
 *   z_i = a_{i−1} · W_i + b_i;  h_i = (z_i − μ_i) / σ_i · γ_i + β_i;  a_i = drop(relu(h_i));   a_0 = x
 *   y = a_L · W_o + b_o                                                                       [rows, o ≤ 8]
 *
 * with batch statistics (running mean/var updated in place, as DenseUnit's BN) and the gradients of x and every
 * weight. Each layer keeps only z_i; a_i is recomputed where it is read (the dropout mask from its hash), so the
 * products take their operands on load:
 *
 * | | per hidden layer | output layer |
 * |---|---|---|
 * | forward | `Gemm` (z_i, a_{i−1} on load) + `Stats` (μ, σ, running stats) | `Out` (y, a_L on load) |
 * | backward | `Sums` (dβ, dγ; db = 0: the bias cancels in BN) + `Dual` (dA_{i−1} = dz·Wᵀ and dW = a_{i−1}ᵀ·dz in one dispatch, dz on load) | in the last layer's `Sums` (dW_o, db_o) and `Dual` (dA_L on load) |
 *
 * 7 dispatches forward and 6 backward for three hidden layers, instead of 10 and 13 (a tfjs matMul per layer and
 * two per layer backward around the fused layer tails of densePost.ts). Per layer the z buffer holds 6 extra rows:
 * μ, σ, γ, β (Stats) and dβ, dγ (Sums), so each program binds ≤ 8 storage buffers. dW sums over all rows in one
 * workgroup per tile (rows = the batch), in a fixed order: deterministic.
 *
 * The Dice network (`dice` on every hidden layer, no output layer: dcnDin's DNN): Linear → BN → Dice → dropout,
 * Dice's statistics taken over h = BN(z) (layers/dice.ts); the op returns a_L. `StatsDice` adds two passes for μ_h,
 * σ_h and both running pairs; `ActDice` materialises a_L; `SumsDice` gets dβ, dγ, dα and Dice's column sums in one
 * pass (see SUMS_DICE); `Dual` computes dz on load through Dice and BN. 2·L + 1 dispatches forward, 2·L backward;
 * the z buffer holds 11 extra rows.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { WGSL_DROPOUT_HASH, dropoutUniforms } from './dropout';
import { gemmPairProgram, gemmPairWorkgroups, gemmProgram, gemmUniforms, gemmWorkgroups } from './gemm';
import { type RawBinding, type RawProgram, FLAT_MAIN, allocOnGpu, flatGrid, ownBuffer, runRaw } from './raw';

/** Widest output (the `Out` program loops over it per thread, `Sums` keeps one accumulator per output). */
export const MLP_MAX_OUT = 8;
const COLS = 64;
const SLICES = 4;

export interface MlpHiddenLayer {
  kernel: tf.Tensor;
  bias: tf.Tensor;
  gamma: tf.Tensor;
  beta: tf.Tensor;
  runningMean: tf.Variable;
  runningVar: tf.Variable;
  dropout: { rate: number; seed: number };
  /** Dice after the batch norm instead of ReLU (layers/dice.ts): α (differentiated) and its running statistics. */
  dice?: { alpha: tf.Tensor; runningMean: tf.Variable; runningVar: tf.Variable };
}

export interface MlpInputs {
  x: tf.Tensor2D;
  hidden: MlpHiddenLayer[];
  /** The narrow output layer; without it (Dice networks only) the op returns the last hidden activation a_L. */
  outKernel?: tf.Tensor;
  outBias?: tf.Tensor;
  epsilon: number;
  momentum: number;
  /** Dice's ε and momentum, with Dice layers (every hidden layer has `dice`, or none). */
  diceEpsilon?: number;
  diceMomentum?: number;
}

/**
 * Uniforms of a layer's programs: rows; this layer's width n, input width k (the previous layer's n, or x's);
 * dropout of this layer (d*) and of the previous one (p*: its a_{i−1} is read on load); output width o; BN constants.
 */
const U: RawProgram['uniforms'] = [
  { name: 'rows', type: 'i32' },
  { name: 'n', type: 'i32' },
  { name: 'k', type: 'i32' },
  { name: 'o', type: 'i32' },
  { name: 'dk1', type: 'u32' },
  { name: 'dk2', type: 'u32' },
  { name: 'dthr', type: 'u32' },
  { name: 'dall', type: 'i32' },
  { name: 'dkeep', type: 'f32' },
  { name: 'pk1', type: 'u32' },
  { name: 'pk2', type: 'u32' },
  { name: 'pthr', type: 'u32' },
  { name: 'pall', type: 'i32' },
  { name: 'pkeep', type: 'f32' },
  { name: 'eps', type: 'f32' },
  { name: 'mom', type: 'f32' },
  { name: 'keepMom', type: 'f32' },
  { name: 'unbias', type: 'f32' },
  { name: 'deps', type: 'f32' },
  { name: 'dmom', type: 'f32' },
  { name: 'dkeepMom', type: 'f32' },
];

/**
 * Rows after the z rows of a layer's buffer: μ, σ, γ, β (Stats), dβ, dγ (Sums); with Dice also μ_h, σ_h, α of the
 * Dice statistics of h = BN(z) (Stats) and G = Σ gm, Gm = Σ gm·m (Sums; see DICE_FNS).
 */
const extraRows = (dice: boolean) => (dice ? 11 : 6);

const r = (name: string): RawBinding => ({ name, access: 'read', type: 'f32' });
const rw = (name: string): RawBinding => ({ name, access: 'read_write', type: 'f32' });

/**
 * a of the previous layer at (row, q) from its z buffer `zp` (width u.k): BN with its stats rows, relu (or Dice with
 * its rows 6..8), dropout.
 */
const prevAct = (dice: boolean) => `
fn aPrev(row : i32, q : i32) -> f32 {
  let m = u.rows * u.k;
  let h = (zp[row * u.k + q] - zp[m + q]) / zp[m + u.k + q] * zp[m + 2 * u.k + q] + zp[m + 3 * u.k + q];
  ${dice ? '' : 'if (!(h > 0.0)) { return 0.0; }'}
  if (u.pall == 0 && mmctrDropoutHash(u32(row * u.k + q), u.pk1, u.pk2) >= u.pthr) { return 0.0; }
  ${
    dice
      ? `let p = 1.0 / (1.0 + exp(-((h - zp[m + 6 * u.k + q]) / zp[m + 7 * u.k + q])));
  return h * (p + zp[m + 8 * u.k + q] * (1.0 - p)) / u.pkeep;`
      : 'return h / u.pkeep;'
  }
}`;
const PREV_ACT = prevAct(false);

/** This layer's normalised n and affine h at (row, c) from its z buffer `z` (width u.n). */
const THIS_BN = `
fn normed(row : i32, c : i32) -> f32 {
  let m = u.rows * u.n;
  return (z[row * u.n + c] - z[m + c]) / z[m + u.n + c];
}
fn affine(nv : f32, c : i32) -> f32 {
  let m = u.rows * u.n;
  return nv * z[m + 2 * u.n + c] + z[m + 3 * u.n + c];
}
fn dropScale(row : i32, c : i32) -> f32 {
  if (u.dall == 0 && mmctrDropoutHash(u32(row * u.n + c), u.dk1, u.dk2) >= u.dthr) { return 0.0; }
  return 1.0 / u.dkeep;
}`;

/** dA of the last hidden layer at (row, c) = Σ_j dy[row, j]·W_o[c, j]. Needs dy, wo. */
const DA_LAST = `
fn dA(row : i32, c : i32) -> f32 {
  var s = 0.0;
  for (var j = 0; j < u.o; j = j + 1) { s = s + dy[row * u.o + j] * wo[c * u.o + j]; }
  return s;
}`;
/** dA of a middle layer: stored by the next layer's Dual. Needs da. */
const DA_STORED = `
fn dA(row : i32, c : i32) -> f32 { return da[row * u.n + c]; }`;

/**
 * Dice of this layer (rows 6..10 of z): m = (h − μ_h)/σ_h, p = sigmoid(m), dice(h) = h·(p + α(1 − p)); for
 * g = dL/d dice(h): gm = g·h·(1 − α)·p(1 − p) and dh = g·(p + α(1 − p)) + (gm − G/N − m·Gm/N)/σ_h.
 */
const DICE_FNS = `
fn diceM(h : f32, c : i32) -> f32 {
  let m = u.rows * u.n;
  return (h - z[m + 6 * u.n + c]) / z[m + 7 * u.n + c];
}
fn diceP(mv : f32) -> f32 { return 1.0 / (1.0 + exp(-mv)); }
fn diceGm(g : f32, h : f32, p : f32, c : i32) -> f32 {
  let m = u.rows * u.n;
  return g * h * (1.0 - z[m + 8 * u.n + c]) * p * (1.0 - p);
}
fn diceQ(p : f32, c : i32) -> f32 { return p + z[m0() + 8 * u.n + c] * (1.0 - p); }
fn m0() -> i32 { return u.rows * u.n; }`;

/** dz at (row, c) through dropout, Dice, BN (needs dA, z with its stats and sums rows). */
const DZ_DICE = `
fn dz(row : i32, c : i32) -> f32 {
  let nv = normed(row, c);
  let h = affine(nv, c);
  let g = dA(row, c) * dropScale(row, c);
  let mv = diceM(h, c);
  let p = diceP(mv);
  let m = m0();
  let nn = f32(u.rows);
  let dh = g * diceQ(p, c) + (diceGm(g, h, p, c) - z[m + 9 * u.n + c] / nn - mv * z[m + 10 * u.n + c] / nn) / z[m + 7 * u.n + c];
  return (z[m + 2 * u.n + c] / z[m + u.n + c]) * (dh - (z[m + 4 * u.n + c] + nv * z[m + 5 * u.n + c]) / nn);
}`;

/** dz at (row, c) through dropout, relu and BN (needs dA, z with its stats and sums rows). */
const DZ = `
fn dz(row : i32, c : i32) -> f32 {
  let nv = normed(row, c);
  let h = affine(nv, c);
  var dh = dA(row, c) * dropScale(row, c);
  if (!(h > 0.0)) { dh = 0.0; }
  let m = u.rows * u.n;
  return (z[m + 2 * u.n + c] / z[m + u.n + c]) * (dh - (z[m + 4 * u.n + c] + nv * z[m + 5 * u.n + c]) / f32(u.rows));
}`;

/** z_i (rows 0..rows−1 of the z buffer) = a_{i−1}·W + b; `first`: a_0 = x. */
function gemmForward(first: boolean, dice = false): RawProgram {
  return gemmProgram({
    key: (first ? 'mmctrMlpGemmFirst' : 'mmctrMlpGemm') + (dice && !first ? 'Dice' : ''),
    bindings: [first ? r('x') : r('zp'), r('w'), r('bias'), rw('z')],
    uniforms: U,
    helpers: first ? '' : `${WGSL_DROPOUT_HASH}${prevAct(dice)}`,
    loadA: first ? 'x[r * u.k + k]' : 'aPrev(r, k)',
    loadB: ['w[k * u.n + c]'],
    store: 'z[r * u.n + c] = acc0 + bias[c];',
  });
}

/** μ, σ = √(var + ε) (biased), γ, β into the z buffer's rows; running mean/var updated (unbiased var). */
function statsProgram(dice: boolean): RawProgram {
  return {
  key: `mmctrMlpStats${dice ? 'Dice' : ''}`,
  bindings: [rw('z'), r('gamma'), r('beta'), rw('runMean'), rw('runVar'), ...(dice ? [r('alpha'), rw('dRunMean'), rw('dRunVar')] : [])],
  uniforms: U,
  body: `
var<workgroup> acc : array<f32, ${COLS * SLICES}>;
@compute @workgroup_size(${COLS}, ${SLICES})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let j = i32(wid.x) * ${COLS} + i32(lid.x);
  let ok = j < u.n;
  let slot = lid.y * ${COLS}u + lid.x;
  var s = 0.0;
  if (ok) { for (var row = i32(lid.y); row < u.rows; row = row + ${SLICES}) { s = s + z[row * u.n + j]; } }
  acc[slot] = s;
  workgroupBarrier();
  let mean = (acc[lid.x] + acc[${COLS}u + lid.x] + acc[${2 * COLS}u + lid.x] + acc[${3 * COLS}u + lid.x]) / f32(u.rows);
  workgroupBarrier();
  var q = 0.0;
  if (ok) { for (var row = i32(lid.y); row < u.rows; row = row + ${SLICES}) { let d = z[row * u.n + j] - mean; q = q + d * d; } }
  acc[slot] = q;
  workgroupBarrier();
  if (ok && lid.y == 0u) {
    let variance = (acc[lid.x] + acc[${COLS}u + lid.x] + acc[${2 * COLS}u + lid.x] + acc[${3 * COLS}u + lid.x]) / f32(u.rows);
    let m = u.rows * u.n;
    z[m + j] = mean;
    z[m + u.n + j] = sqrt(variance + u.eps);
    z[m + 2 * u.n + j] = gamma[j];
    z[m + 3 * u.n + j] = beta[j];
    runMean[j] = runMean[j] * u.keepMom + mean * u.mom;
    runVar[j] = runVar[j] * u.keepMom + (variance * u.unbias) * u.mom;
  }
  ${
    dice
      ? `// Dice's statistics of h = (z − μ)/σ·γ + β, two more passes.
  let sdz = sqrt((acc[lid.x] + acc[${COLS}u + lid.x] + acc[${2 * COLS}u + lid.x] + acc[${3 * COLS}u + lid.x]) / f32(u.rows) + u.eps);
  var gj = 0.0;
  var bj = 0.0;
  if (ok) { gj = gamma[j]; bj = beta[j]; }
  workgroupBarrier();
  let m = u.rows * u.n;
  var hs = 0.0;
  if (ok) { for (var row = i32(lid.y); row < u.rows; row = row + ${SLICES}) { hs = hs + ((z[row * u.n + j] - mean) / sdz * gj + bj); } }
  acc[slot] = hs;
  workgroupBarrier();
  let hMean = (acc[lid.x] + acc[${COLS}u + lid.x] + acc[${2 * COLS}u + lid.x] + acc[${3 * COLS}u + lid.x]) / f32(u.rows);
  workgroupBarrier();
  var hq = 0.0;
  if (ok) { for (var row = i32(lid.y); row < u.rows; row = row + ${SLICES}) { let d = ((z[row * u.n + j] - mean) / sdz * gj + bj) - hMean; hq = hq + d * d; } }
  acc[slot] = hq;
  workgroupBarrier();
  if (ok && lid.y == 0u) {
    let hVar = (acc[lid.x] + acc[${COLS}u + lid.x] + acc[${2 * COLS}u + lid.x] + acc[${3 * COLS}u + lid.x]) / f32(u.rows);
    z[m + 6 * u.n + j] = hMean;
    z[m + 7 * u.n + j] = sqrt(hVar + u.deps);
    z[m + 8 * u.n + j] = alpha[j];
    dRunMean[j] = dRunMean[j] * u.dkeepMom + hMean * u.dmom;
    dRunVar[j] = dRunVar[j] * u.dkeepMom + (hVar * u.unbias) * u.dmom;
  }`
      : ''
  }
}`,
  };
}
const STATS = statsProgram(false);

/** y = a_L · W_o + b_o (a thread per output; u.k = the last hidden width). */
const OUT: RawProgram = {
  key: 'mmctrMlpOut',
  bindings: [r('zp'), r('wo'), r('bo'), rw('y')],
  uniforms: U,
  body: `${WGSL_DROPOUT_HASH}${PREV_ACT}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let idx = i32(wid.x + wid.y * nwg.x) * 256 + i32(lid);
  if (idx >= u.rows * u.o) { return; }
  let row = idx / u.o;
  let j = idx - row * u.o;
  var s = 0.0;
  for (var q = 0; q < u.k; q = q + 1) { s = s + aPrev(row, q) * wo[q * u.o + j]; }
  y[idx] = s + bo[j];
}`,
};

/**
 * Per column c of this layer: dβ = Σ dh, dγ = Σ dh·n (into the z buffer's sums rows and the gradient tensors),
 * db = 0; `last`: also dW_o[c, :] = Σ a_L[:, c]·dy and db_o (columns c < o: Σ dy[:, c]).
 */
function sumsProgram(last: boolean): RawProgram {
  const bindings: RawBinding[] = last ? [r('dy'), r('wo')] : [r('da')];
  bindings.push(rw('z'), rw('dgamma'), rw('dbeta'), rw('dbias'));
  if (last) bindings.push(rw('dwo'), rw('dbo'));
  const extra = last ? MLP_MAX_OUT + 1 : 0; // dW_o accumulators, db_o
  const slots = 2 + extra;
  return {
    key: last ? 'mmctrMlpSumsLast' : 'mmctrMlpSums',
    bindings,
    uniforms: U,
    body: `${WGSL_DROPOUT_HASH}${THIS_BN}${last ? DA_LAST : DA_STORED}
var<workgroup> acc : array<f32, ${COLS * SLICES * slots}>;
@compute @workgroup_size(${COLS}, ${SLICES})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let j = i32(wid.x) * ${COLS} + i32(lid.x);
  let ok = j < u.n;
  let slot = i32(lid.y) * ${COLS} + i32(lid.x);
  var s1 = 0.0;
  var s2 = 0.0;
  ${last ? `var sw : array<f32, ${MLP_MAX_OUT}>; var sb = 0.0;` : ''}
  if (ok) {
    for (var row = i32(lid.y); row < u.rows; row = row + ${SLICES}) {
      let nv = normed(row, j);
      let h = affine(nv, j);
      let ds = dropScale(row, j);
      var dh = dA(row, j) * ds;
      if (!(h > 0.0)) { dh = 0.0; }
      s1 = s1 + dh;
      s2 = s2 + dh * nv;
      ${
        last
          ? `let a = select(0.0, h * ds, h > 0.0);
      for (var q = 0; q < u.o; q = q + 1) { sw[q] = sw[q] + a * dy[row * u.o + q]; }
      if (j < u.o) { sb = sb + dy[row * u.o + j]; }`
          : ''
      }
    }
  }
  acc[slot] = s1;
  acc[${COLS * SLICES} + slot] = s2;
  ${last ? `for (var q = 0; q < ${MLP_MAX_OUT}; q = q + 1) { acc[${COLS * SLICES} * (2 + q) + slot] = sw[q]; }
  acc[${COLS * SLICES * (2 + MLP_MAX_OUT)} + slot] = sb;` : ''}
  workgroupBarrier();
  if (ok && lid.y == 0u) {
    let x = i32(lid.x);
    let db = acc[x] + acc[${COLS} + x] + acc[${2 * COLS} + x] + acc[${3 * COLS} + x];
    let p = ${COLS * SLICES};
    let dg = acc[p + x] + acc[p + ${COLS} + x] + acc[p + ${2 * COLS} + x] + acc[p + ${3 * COLS} + x];
    let m = u.rows * u.n;
    z[m + 4 * u.n + j] = db;
    z[m + 5 * u.n + j] = dg;
    dbeta[j] = db;
    dgamma[j] = dg;
    dbias[j] = 0.0;
    ${
      last
        ? `for (var q = 0; q < u.o; q = q + 1) {
      let b0 = ${COLS * SLICES} * (2 + q);
      dwo[j * u.o + q] = acc[b0 + x] + acc[b0 + ${COLS} + x] + acc[b0 + ${2 * COLS} + x] + acc[b0 + ${3 * COLS} + x];
    }
    if (j < u.o) {
      let b1 = ${COLS * SLICES * (2 + MLP_MAX_OUT)};
      dbo[j] = acc[b1 + x] + acc[b1 + ${COLS} + x] + acc[b1 + ${2 * COLS} + x] + acc[b1 + ${3 * COLS} + x];
    }`
        : ''
    }
  }
}`,
  };
}

/**
 * Sums of a Dice layer (no output layer after it: dA stored): per column, with g = dA·drop, n = BN-normalised z,
 * h = γn + β and m, p, q = p + α(1 − p), gm of DICE_FNS, the column sums S = Σ g·q, Sn = Σ g·q·n, G = Σ gm,
 * Gm = Σ gm·m, Gn = Σ gm·n, Σ m, Σ n, Σ m·n and dα = Σ g·h·(1 − p). With dh = g·q + (gm − G/N − m·Gm/N)/σ_h:
 *   dβ = Σ dh = S − Gm·Σm/(N·σ_h);   dγ = Σ dh·n = Sn + (Gn − G·Σn/N − Gm·Σ(m·n)/N)/σ_h
 * (exact algebra: one pass instead of one for G, Gm and another for dβ, dγ). G, Gm, dβ, dγ into z's rows.
 */
const SUMS_DICE: RawProgram = {
  key: 'mmctrMlpSumsDice',
  bindings: [r('da'), rw('z'), rw('dgamma'), rw('dbeta'), rw('dbias'), rw('dalpha')],
  uniforms: U,
  body: `${WGSL_DROPOUT_HASH}${THIS_BN}${DA_STORED}${DICE_FNS}
var<workgroup> acc : array<f32, ${COLS * SLICES * 9}>;
@compute @workgroup_size(${COLS}, ${SLICES})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let j = i32(wid.x) * ${COLS} + i32(lid.x);
  let ok = j < u.n;
  let slot = i32(lid.y) * ${COLS} + i32(lid.x);
  var s : array<f32, 9>;
  if (ok) {
    for (var row = i32(lid.y); row < u.rows; row = row + ${SLICES}) {
      let nv = normed(row, j);
      let h = affine(nv, j);
      let g = dA(row, j) * dropScale(row, j);
      let mv = diceM(h, j);
      let p = diceP(mv);
      let gq = g * diceQ(p, j);
      let gm = diceGm(g, h, p, j);
      s[0] = s[0] + gq;
      s[1] = s[1] + gq * nv;
      s[2] = s[2] + gm;
      s[3] = s[3] + gm * mv;
      s[4] = s[4] + gm * nv;
      s[5] = s[5] + mv;
      s[6] = s[6] + nv;
      s[7] = s[7] + mv * nv;
      s[8] = s[8] + g * h * (1.0 - p);
    }
  }
  for (var q = 0; q < 9; q = q + 1) { acc[${COLS * SLICES} * q + slot] = s[q]; }
  workgroupBarrier();
  if (ok && lid.y == 0u) {
    let x = i32(lid.x);
    var t : array<f32, 9>;
    for (var q = 0; q < 9; q = q + 1) {
      let b0 = ${COLS * SLICES} * q;
      t[q] = acc[b0 + x] + acc[b0 + ${COLS} + x] + acc[b0 + ${2 * COLS} + x] + acc[b0 + ${3 * COLS} + x];
    }
    let m = u.rows * u.n;
    let nn = f32(u.rows);
    let sdh = z[m + 7 * u.n + j];
    let db = t[0] - t[3] * t[5] / (nn * sdh);
    let dg = t[1] + (t[4] - t[2] * t[6] / nn - t[3] * t[7] / nn) / sdh;
    z[m + 4 * u.n + j] = db;
    z[m + 5 * u.n + j] = dg;
    z[m + 9 * u.n + j] = t[2];
    z[m + 10 * u.n + j] = t[3];
    dbeta[j] = db;
    dgamma[j] = dg;
    dbias[j] = 0.0;
    dalpha[j] = t[8];
  }
}`,
};

/** a_L (no output layer): y [rows, k] = the last hidden activation (u.k its width). */
const ACT_DICE: RawProgram = {
  key: 'mmctrMlpActDice',
  bindings: [r('zp'), rw('y')],
  uniforms: U,
  body: `${WGSL_DROPOUT_HASH}${prevAct(true)}${FLAT_MAIN}
  if (idx >= u.rows * u.k) { return; }
  let row = idx / u.k;
  y[idx] = aPrev(row, idx - row * u.k);
}`,
};

/** dA_{i−1} = dz·Wᵀ [rows, k] and dW = a_{i−1}ᵀ·dz [k, n] in one dispatch (dz on load). */
function dualProgram(first: boolean, last: boolean, dice = false): RawProgram {
  const bindings: RawBinding[] = last ? [r('dy'), r('wo')] : [r('da')];
  bindings.push(r('z'), r('w'), first ? r('x') : r('zp'), rw('dx'), rw('dw'));
  return gemmPairProgram({
    key: `mmctrMlpDual${first ? 'First' : ''}${last ? 'Last' : ''}${dice ? 'Dice' : ''}`,
    bindings,
    uniforms: U,
    helpers: `${WGSL_DROPOUT_HASH}${THIS_BN}${last ? DA_LAST : DA_STORED}${dice ? DICE_FNS + DZ_DICE : DZ}${first ? '' : prevAct(dice)}`,
    parts: [
      { loadA: 'dz(r, k)', loadB: ['w[c * u.n + k]'], store: 'dx[r * u.k + c] = acc0;' },
      { loadA: first ? 'x[k * u.k + r]' : 'aPrev(k, r)', loadB: ['dz(k, c)'], store: 'dw[r * u.n + c] = acc0;' },
    ],
  });
}

const PROGRAMS = {
  gemmFirst: gemmForward(true),
  gemm: gemmForward(false),
  sums: sumsProgram(false),
  sumsLast: sumsProgram(true),
  dual: dualProgram(false, false),
  dualFirst: dualProgram(true, false),
  dualLast: dualProgram(false, true),
  dualFirstLast: dualProgram(true, true),
};
/** The Dice network's programs (no output layer: the last layer is a middle one whose dA is the op's dy). */
const DICE_PROGRAMS = {
  gemmFirst: gemmForward(true, true),
  gemm: gemmForward(false, true),
  stats: statsProgram(true),
  sums: SUMS_DICE,
  dual: dualProgram(false, false, true),
  dualFirst: dualProgram(true, false, true),
};

const asTensor = (t: TensorInfo) => tf.engine().makeTensorFromTensorInfo(t);

function dropU(d: { rate: number; seed: number } | undefined): number[] {
  if (!d || !(d.rate > 0)) return [0, 0, 0xffffffff, 1, 1];
  const u = dropoutUniforms(d.rate, d.seed);
  return [u.k1, u.k2, u.threshold, u.all ? 1 : 0, u.keep];
}

/** The network (see the header): x [rows, k0] → y [rows, o]; gradients to x, every W, b, γ, β and W_o, b_o. */
export function webGpuMlp(m: MlpInputs): tf.Tensor2D {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`webGpuMlp: the active backend is '${tf.getBackend()}', not webgpu`);
  const [rows, k0] = m.x.shape;
  const L = m.hidden.length;
  if (L < 1) throw new MmctrError('webGpuMlp: needs at least one hidden layer');
  const widths = m.hidden.map((h) => h.kernel.shape[1] as number);
  const dice = m.hidden.some((h) => h.dice);
  if (dice) return diceMlp(m);
  if (!m.outKernel || !m.outBias) throw new MmctrError('webGpuMlp: a ReLU network needs its output layer');
  const o = m.outKernel.shape[1] as number;
  let k = k0;
  for (let i = 0; i < L; i++) {
    const h = m.hidden[i];
    if (h.kernel.shape[0] !== k || h.bias.size !== widths[i] || h.gamma.size !== widths[i] || h.beta.size !== widths[i]) {
      throw new MmctrError(`webGpuMlp: hidden layer ${i} has kernel [${h.kernel.shape}] after width ${k}`);
    }
    k = widths[i];
  }
  if (m.outKernel.shape[0] !== k || o > MLP_MAX_OUT || m.outBias.size !== o) {
    throw new MmctrError(`webGpuMlp: output kernel [${m.outKernel.shape}] after width ${k} (output ≤ ${MLP_MAX_OUT})`);
  }
  const bn = bnUniforms(m, rows);
  /** Uniforms of layer i (i = L: the output layer, reading layer L − 1). */
  const uni = (i: number) => {
    const n = i < L ? widths[i] : o;
    const kin = i === 0 ? k0 : widths[i - 1];
    return [rows, n, kin, o, ...dropU(m.hidden[i]?.dropout), ...dropU(i > 0 ? m.hidden[i - 1].dropout : undefined), ...bn];
  };
  const inputs: tf.Tensor[] = [m.x];
  for (const h of m.hidden) inputs.push(h.kernel, h.bias, h.gamma, h.beta);
  inputs.push(m.outKernel, m.outBias);

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args.slice(0, inputs.length) as tf.Tensor[];
    const save = args[inputs.length] as tf.GradSaveFunc;
    const zs: tf.Tensor[] = [];
    for (let i = 0; i < L; i++) {
      const [w, b, gamma, beta] = t.slice(1 + 4 * i, 5 + 4 * i);
      const zb = allocOnGpu([rows + 6, widths[i]]);
      const prev = i === 0 ? t[0] : zs[i - 1];
      runRaw(i === 0 ? PROGRAMS.gemmFirst : PROGRAMS.gemm, [prev, w, b, zb], [...gemmUniforms(rows, widths[i], i === 0 ? k0 : widths[i - 1]), ...uni(i)], gemmWorkgroups(rows, widths[i]));
      ownBuffer(m.hidden[i].runningMean);
      ownBuffer(m.hidden[i].runningVar);
      const { runningMean, runningVar } = m.hidden[i];
      runRaw(STATS, [zb, gamma, beta, runningMean, runningVar], uni(i), [Math.ceil(widths[i] / COLS), 1, 1], [runningMean, runningVar]);
      zs.push(asTensor(zb));
    }
    const y = allocOnGpu([rows, o]);
    const [wo, bo] = t.slice(1 + 4 * L);
    runRaw(OUT, [zs[L - 1], wo, bo, y], uni(L), [Math.ceil((rows * o) / 256), 1, 1]);
    save([t[0], ...m.hidden.map((_, i) => t[1 + 4 * i]), wo, ...zs]);
    return {
      value: asTensor(y),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const x = saved[0];
        const ws = saved.slice(1, 1 + L);
        const woS = saved[1 + L];
        const zS = saved.slice(2 + L);
        const grads: tf.Tensor[][] = [];
        const dwo = allocOnGpu([k, o]);
        const dbo = allocOnGpu([o]);
        let da: tf.Tensor | null = null;
        let dx: tf.Tensor | null = null;
        for (let i = L - 1; i >= 0; i--) {
          const n = widths[i];
          const kin = i === 0 ? k0 : widths[i - 1];
          const last = i === L - 1;
          const [dgamma, dbeta, dbias] = [allocOnGpu([n]), allocOnGpu([n]), allocOnGpu([n])];
          const head: TensorInfo[] = last ? [dy as tf.Tensor, woS] : [da!];
          runRaw(last ? PROGRAMS.sumsLast : PROGRAMS.sums, [...head, zS[i], dgamma, dbeta, dbias, ...(last ? [dwo, dbo] : [])], uni(i), [Math.ceil(n / COLS), 1, 1], [zS[i]]);
          const dprev = allocOnGpu([rows, kin]);
          const dw = allocOnGpu([kin, n]);
          const prog = i === 0 ? (last ? PROGRAMS.dualFirstLast : PROGRAMS.dualFirst) : last ? PROGRAMS.dualLast : PROGRAMS.dual;
          runRaw(
            prog,
            [...head, zS[i], ws[i], i === 0 ? x : zS[i - 1], dprev, dw],
            [...gemmUniforms(rows, kin, n), ...gemmUniforms(kin, n, rows), ...uni(i)],
            gemmPairWorkgroups(rows, kin, kin, n),
          );
          if (da) da.dispose();
          da = asTensor(dprev);
          if (i === 0) dx = da;
          grads[i] = [asTensor(dw), asTensor(dbias), asTensor(dgamma), asTensor(dbeta)];
        }
        return [dx!, ...grads.flat(), asTensor(dwo), asTensor(dbo)];
      },
    };
  });
  return op(...inputs) as tf.Tensor2D;
}

/** BN and Dice constants of the uniforms: ε, momentum, 1 − momentum, N/(N − 1), Dice's ε, momentum, 1 − momentum. */
function bnUniforms(m: MlpInputs, rows: number): number[] {
  const dm = m.diceMomentum ?? 0;
  return [m.epsilon, m.momentum, 1 - m.momentum, rows > 1 ? rows / (rows - 1) : 1, m.diceEpsilon ?? 0, dm, 1 - dm];
}

/**
 * The Dice network (every hidden layer Linear → BN → Dice → dropout, no output layer): x [rows, k0] → a_L
 * [rows, n_L]; gradients to x and every W, b, γ, β, α. Per layer forward `Gemm` + `StatsDice` (BN's and Dice's
 * statistics, both running pairs updated), then `ActDice` materialises a_L; backward per layer `SumsDice` + `Dual`.
 */
function diceMlp(m: MlpInputs): tf.Tensor2D {
  const [rows, k0] = m.x.shape;
  const L = m.hidden.length;
  const widths = m.hidden.map((h) => h.kernel.shape[1] as number);
  let k = k0;
  for (let i = 0; i < L; i++) {
    const h = m.hidden[i];
    const n = widths[i];
    if (!h.dice || h.kernel.shape[0] !== k || h.bias.size !== n || h.gamma.size !== n || h.beta.size !== n || h.dice.alpha.size !== n) {
      throw new MmctrError(`webGpuMlp: Dice hidden layer ${i} has kernel [${h.kernel.shape}] after width ${k} (every layer needs Dice)`);
    }
    k = n;
  }
  if (m.outKernel || m.outBias) throw new MmctrError('webGpuMlp: a Dice network takes no output layer');
  const bn = bnUniforms(m, rows);
  /** Uniforms of layer i (i = L: the activation of layer L − 1). */
  const uni = (i: number) => {
    const n = i < L ? widths[i] : 0;
    const kin = i === 0 ? k0 : widths[i - 1];
    return [rows, n, kin, 0, ...dropU(m.hidden[i]?.dropout), ...dropU(i > 0 ? m.hidden[i - 1].dropout : undefined), ...bn];
  };
  const P = DICE_PROGRAMS;
  const inputs: tf.Tensor[] = [m.x];
  for (const h of m.hidden) inputs.push(h.kernel, h.bias, h.gamma, h.beta, h.dice!.alpha);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args.slice(0, inputs.length) as tf.Tensor[];
    const save = args[inputs.length] as tf.GradSaveFunc;
    const zs: tf.Tensor[] = [];
    for (let i = 0; i < L; i++) {
      const [w, b, gamma, beta, alpha] = t.slice(1 + 5 * i, 6 + 5 * i);
      const zb = allocOnGpu([rows + extraRows(true), widths[i]]);
      const prev = i === 0 ? t[0] : zs[i - 1];
      runRaw(i === 0 ? P.gemmFirst : P.gemm, [prev, w, b, zb], [...gemmUniforms(rows, widths[i], i === 0 ? k0 : widths[i - 1]), ...uni(i)], gemmWorkgroups(rows, widths[i]));
      const h = m.hidden[i];
      const state = [h.runningMean, h.runningVar, h.dice!.runningMean, h.dice!.runningVar];
      state.forEach(ownBuffer);
      runRaw(P.stats, [zb, gamma, beta, h.runningMean, h.runningVar, alpha, h.dice!.runningMean, h.dice!.runningVar], uni(i), [Math.ceil(widths[i] / COLS), 1, 1], state);
      zs.push(asTensor(zb));
    }
    const y = allocOnGpu([rows, k]);
    runRaw(ACT_DICE, [zs[L - 1], y], uni(L), flatGrid(rows * k));
    save([t[0], ...m.hidden.map((_, i) => t[1 + 5 * i]), ...zs]);
    return {
      value: asTensor(y),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const x = saved[0];
        const ws = saved.slice(1, 1 + L);
        const zS = saved.slice(1 + L);
        const grads: tf.Tensor[][] = [];
        let da: tf.Tensor = dy as tf.Tensor;
        for (let i = L - 1; i >= 0; i--) {
          const n = widths[i];
          const kin = i === 0 ? k0 : widths[i - 1];
          const [dgamma, dbeta, dbias, dalpha] = [allocOnGpu([n]), allocOnGpu([n]), allocOnGpu([n]), allocOnGpu([n])];
          runRaw(P.sums, [da, zS[i], dgamma, dbeta, dbias, dalpha], uni(i), [Math.ceil(n / COLS), 1, 1], [zS[i]]);
          const dprev = allocOnGpu([rows, kin]);
          const dw = allocOnGpu([kin, n]);
          runRaw(
            i === 0 ? P.dualFirst : P.dual,
            [da, zS[i], ws[i], i === 0 ? x : zS[i - 1], dprev, dw],
            [...gemmUniforms(rows, kin, n), ...gemmUniforms(kin, n, rows), ...uni(i)],
            gemmPairWorkgroups(rows, kin, kin, n),
          );
          if (da !== dy) da.dispose();
          da = asTensor(dprev);
          grads[i] = [asTensor(dw), asTensor(dbias), asTensor(dgamma), asTensor(dbeta), asTensor(dalpha)];
        }
        return [da, ...grads.flat()];
      },
    };
  });
  return op(...inputs) as tf.Tensor2D;
}
