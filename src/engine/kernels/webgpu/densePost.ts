/**
 * The part of a hidden layer after its matrix product, fused for webgpu training steps: 
 *   t = z (+ bias);  [BN: n = (t − mean) / √(var + ε), h = n·γ + β (batch statistics; running ones updated)];
 *   a = relu(h) or h;  y = the project's seeded dropout of a (../dropout.ts: the same hash, the same mask as cpu)
 * as one custom op (`tf.customGrad`) over raw WGSL programs (raw.ts), with its gradient to z, bias, γ, β.
 * `DenseUnit` (src/models/layers/mlpBlock.ts) uses it on webgpu in training, so an MLP layer is its matMul plus:
 *
 * | | forward | backward |
 * |---|---|---|
 * | BN | stats (column mean, √(var+ε), running stats in place) + apply | column sums (dβ, dγ, db = 0) + dz |
 * | no BN, bias | apply | dz with per-chunk column sums + their sum (db) |
 * | no BN, no bias | apply | dz |
 *
 * instead of ~20 tfjs kernels forward and ~25 backward with BN (moments, running-stat updates, normalisation, affine,
 * relu, dropout and their gradients). The arithmetic is batchNormalize's (src/models/layers/common.ts): two-pass
 * biased variance, running variance updated with the unbiased one, momentum 0.1 by default; the bias before a
 * batch norm gets a zero gradient (it cancels in t − mean).
 *
 * Column kernels take 64 columns per workgroup and 4 row slices; with BN a workgroup covers all rows of its columns
 * (rows = the batch); without BN (rows = batch × history in the attention MLP) a workgroup covers a chunk of rows
 * and writes partial column sums. Needs 7 storage buffers per dispatch (WebGPU's default limit is 8).
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { WGSL_DROPOUT_HASH, dropoutUniforms } from './dropout';
import { type RawBinding, type RawProgram, allocOnGpu, ownBuffer, runRaw, workgroupGrid } from './raw';

export type DensePostActivation = 'relu' | 'linear';

export interface DensePostBatchNorm {
  gamma: tf.Tensor;
  beta: tf.Tensor;
  /** Updated in place. */
  runningMean: tf.Variable;
  /** Updated in place (unbiased batch variance). */
  runningVar: tf.Variable;
  epsilon: number;
  momentum: number;
}

export interface DensePostOptions {
  /** Added to z first; none when undefined. Default undefined. */
  bias?: tf.Tensor;
  /** Batch norm with batch statistics (training). Default undefined (none). */
  batchNorm?: DensePostBatchNorm;
  /** Default 'relu'. */
  activation?: DensePostActivation;
  /** Dropout rate in [0, 1); 0 = none. Default 0. */
  dropoutRate?: number;
  /** The dropout's seed (as `dropoutIf` draws it). Required when dropoutRate > 0. */
  seed?: number;
}

const EW = 256; // threads per workgroup of the element-wise kernels
const COLS = 64; // columns per workgroup of the column kernels
const SLICES = 4; // row slices per workgroup of the column kernels

interface Variant {
  bias: boolean;
  bn: boolean;
  relu: boolean;
  drop: boolean;
}

const key = (name: string, v: Variant) => `${name}_${v.bias ? 'b' : ''}${v.bn ? 'n' : ''}${v.relu ? 'r' : ''}${v.drop ? 'd' : ''}`;

const DROP_UNIFORMS: RawProgram['uniforms'] = [
  { name: 'k1', type: 'u32' },
  { name: 'k2', type: 'u32' },
  { name: 'thr', type: 'u32' },
  { name: 'keep', type: 'f32' },
];
const SHAPE_UNIFORMS: RawProgram['uniforms'] = [
  { name: 'rows', type: 'i32' },
  { name: 'units', type: 'i32' },
];

/**
 * WGSL computing, at flat index `idx` (column `j`): `t` (z + bias), with BN `n` and `h`, else `h = t`. Reads the
 * bindings z, [bias], [stats]. stats = [mean | sd | γ | β], each `units` long.
 */
function forwardExpr(v: Variant): string {
  const t = v.bias ? 'z[idx] + bias[j]' : 'z[idx]';
  if (!v.bn) return `let t = ${t}; let h = t;`;
  return `let t = ${t};
    let n = (t - stats[j]) / stats[u.units + j];
    let h = n * stats[2 * u.units + j] + stats[3 * u.units + j];`;
}

/** WGSL of dh (the gradient reaching h) from dy at idx, through the dropout and the activation. */
function backwardExpr(v: Variant): string {
  let s = 'var dh = dy[idx];';
  if (v.drop) s += ` if (mmctrDropoutHash(u32(idx), u.k1, u.k2) < u.thr) { dh = dh / u.keep; } else { dh = 0.0; }`;
  if (v.relu) s += ' if (!(h > 0.0)) { dh = 0.0; }';
  return s;
}

function inputBindings(v: Variant): RawBinding[] {
  const b: RawBinding[] = [{ name: 'z', access: 'read', type: 'f32' }];
  if (v.bias) b.push({ name: 'bias', access: 'read', type: 'f32' });
  if (v.bn) b.push({ name: 'stats', access: 'read', type: 'f32' });
  return b;
}

const ELEMENTWISE_HEAD = `
@compute @workgroup_size(${EW})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let idx = i32(wid.x + wid.y * nwg.x) * ${EW} + i32(lid);
  if (idx >= u.rows * u.units) { return; }
  let j = idx % u.units;`;

/** BN statistics: stats = [mean | √(var+ε) | γ | β]; running mean/var updated in place. */
function statsProgram(v: Variant): RawProgram {
  const t = v.bias ? 'z[r * u.units + j] + bias[j]' : 'z[r * u.units + j]';
  const bindings: RawBinding[] = [{ name: 'z', access: 'read', type: 'f32' }];
  if (v.bias) bindings.push({ name: 'bias', access: 'read', type: 'f32' });
  bindings.push(
    { name: 'gamma', access: 'read', type: 'f32' },
    { name: 'beta', access: 'read', type: 'f32' },
    { name: 'stats', access: 'read_write', type: 'f32' },
    { name: 'runMean', access: 'read_write', type: 'f32' },
    { name: 'runVar', access: 'read_write', type: 'f32' },
  );
  return {
    key: key('mmctrBnStats', v),
    bindings,
    uniforms: [...SHAPE_UNIFORMS, { name: 'eps', type: 'f32' }, { name: 'mom', type: 'f32' }, { name: 'keepMom', type: 'f32' }, { name: 'unbias', type: 'f32' }],
    body: `
var<workgroup> acc : array<f32, ${COLS * SLICES}>;
@compute @workgroup_size(${COLS}, ${SLICES})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let j = i32(wid.x) * ${COLS} + i32(lid.x);
  let ok = j < u.units;
  let slot = lid.y * ${COLS}u + lid.x;
  var s = 0.0;
  if (ok) { for (var r = i32(lid.y); r < u.rows; r = r + ${SLICES}) { s = s + (${t}); } }
  acc[slot] = s;
  workgroupBarrier();
  let mean = (acc[lid.x] + acc[${COLS}u + lid.x] + acc[${2 * COLS}u + lid.x] + acc[${3 * COLS}u + lid.x]) / f32(u.rows);
  workgroupBarrier();
  var q = 0.0;
  if (ok) { for (var r = i32(lid.y); r < u.rows; r = r + ${SLICES}) { let d = (${t}) - mean; q = q + d * d; } }
  acc[slot] = q;
  workgroupBarrier();
  if (ok && lid.y == 0u) {
    let variance = (acc[lid.x] + acc[${COLS}u + lid.x] + acc[${2 * COLS}u + lid.x] + acc[${3 * COLS}u + lid.x]) / f32(u.rows);
    stats[j] = mean;
    stats[u.units + j] = sqrt(variance + u.eps);
    stats[2 * u.units + j] = gamma[j];
    stats[3 * u.units + j] = beta[j];
    runMean[j] = runMean[j] * u.keepMom + mean * u.mom;
    runVar[j] = runVar[j] * u.keepMom + (variance * u.unbias) * u.mom;
  }
}`,
  };
}

/** y = dropout(act(h)). */
function applyProgram(v: Variant): RawProgram {
  const act = v.relu ? 'max(h, 0.0)' : 'h';
  const drop = v.drop ? `select(0.0, a / u.keep, mmctrDropoutHash(u32(idx), u.k1, u.k2) < u.thr)` : 'a';
  return {
    key: key('mmctrDenseApply', v),
    bindings: [...inputBindings(v), { name: 'y', access: 'read_write', type: 'f32' }],
    uniforms: [...SHAPE_UNIFORMS, ...(v.drop ? DROP_UNIFORMS : [])],
    body: `${v.drop ? WGSL_DROPOUT_HASH : ''}
${ELEMENTWISE_HEAD}
  ${forwardExpr(v)}
  let a = ${act};
  y[idx] = ${drop};
}`,
  };
}

/** BN backward, pass 1: dβ = Σ dh, dγ = Σ dh·n per column; db = 0. */
function bnSumsProgram(v: Variant): RawProgram {
  const bindings: RawBinding[] = [{ name: 'dy', access: 'read', type: 'f32' }, ...inputBindings(v)];
  bindings.push({ name: 'dgamma', access: 'read_write', type: 'f32' }, { name: 'dbeta', access: 'read_write', type: 'f32' });
  if (v.bias) bindings.push({ name: 'dbias', access: 'read_write', type: 'f32' });
  return {
    key: key('mmctrBnSums', v),
    bindings,
    uniforms: [...SHAPE_UNIFORMS, ...(v.drop ? DROP_UNIFORMS : [])],
    body: `${v.drop ? WGSL_DROPOUT_HASH : ''}
var<workgroup> acc1 : array<f32, ${COLS * SLICES}>;
var<workgroup> acc2 : array<f32, ${COLS * SLICES}>;
@compute @workgroup_size(${COLS}, ${SLICES})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let j = i32(wid.x) * ${COLS} + i32(lid.x);
  let ok = j < u.units;
  let slot = lid.y * ${COLS}u + lid.x;
  var s1 = 0.0;
  var s2 = 0.0;
  if (ok) {
    for (var r = i32(lid.y); r < u.rows; r = r + ${SLICES}) {
      let idx = r * u.units + j;
      ${forwardExpr(v)}
      ${backwardExpr(v)}
      s1 = s1 + dh;
      s2 = s2 + dh * n;
    }
  }
  acc1[slot] = s1;
  acc2[slot] = s2;
  workgroupBarrier();
  if (ok && lid.y == 0u) {
    dbeta[j] = acc1[lid.x] + acc1[${COLS}u + lid.x] + acc1[${2 * COLS}u + lid.x] + acc1[${3 * COLS}u + lid.x];
    dgamma[j] = acc2[lid.x] + acc2[${COLS}u + lid.x] + acc2[${2 * COLS}u + lid.x] + acc2[${3 * COLS}u + lid.x];
    ${v.bias ? 'dbias[j] = 0.0;' : ''}
  }
}`,
  };
}

/** BN backward, pass 2: dz = γ/sd · (dh − (dβ + n·dγ)/rows). */
function bnGradProgram(v: Variant): RawProgram {
  return {
    key: key('mmctrBnGrad', v),
    bindings: [
      { name: 'dy', access: 'read', type: 'f32' },
      ...inputBindings(v),
      { name: 'dgamma', access: 'read', type: 'f32' },
      { name: 'dbeta', access: 'read', type: 'f32' },
      { name: 'dz', access: 'read_write', type: 'f32' },
    ],
    uniforms: [...SHAPE_UNIFORMS, ...(v.drop ? DROP_UNIFORMS : [])],
    body: `${v.drop ? WGSL_DROPOUT_HASH : ''}
${ELEMENTWISE_HEAD}
  ${forwardExpr(v)}
  ${backwardExpr(v)}
  dz[idx] = (stats[2 * u.units + j] / stats[u.units + j]) * (dh - (dbeta[j] + n * dgamma[j]) / f32(u.rows));
}`,
  };
}

/** No BN: dz = dh, and with a bias the column sums of dz per chunk of rows (partials [chunks, units]). */
function plainGradProgram(v: Variant): RawProgram {
  const bindings: RawBinding[] = [{ name: 'dy', access: 'read', type: 'f32' }, ...inputBindings(v), { name: 'dz', access: 'read_write', type: 'f32' }];
  if (v.bias) bindings.push({ name: 'partials', access: 'read_write', type: 'f32' });
  return {
    key: key('mmctrDenseGrad', v),
    bindings,
    uniforms: [...SHAPE_UNIFORMS, { name: 'chunk', type: 'i32' }, ...(v.drop ? DROP_UNIFORMS : [])],
    body: `${v.drop ? WGSL_DROPOUT_HASH : ''}
var<workgroup> acc : array<f32, ${COLS * SLICES}>;
@compute @workgroup_size(${COLS}, ${SLICES})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let j = i32(wid.x) * ${COLS} + i32(lid.x);
  let ok = j < u.units;
  let r0 = i32(wid.y) * u.chunk;
  let r1 = min(u.rows, r0 + u.chunk);
  var s = 0.0;
  if (ok) {
    for (var r = r0 + i32(lid.y); r < r1; r = r + ${SLICES}) {
      let idx = r * u.units + j;
      ${forwardExpr(v)}
      ${backwardExpr(v)}
      dz[idx] = dh;
      s = s + dh;
    }
  }
  ${
    v.bias
      ? `acc[lid.y * ${COLS}u + lid.x] = s;
  workgroupBarrier();
  if (ok && lid.y == 0u) {
    partials[i32(wid.y) * u.units + j] = acc[lid.x] + acc[${COLS}u + lid.x] + acc[${2 * COLS}u + lid.x] + acc[${3 * COLS}u + lid.x];
  }`
      : ''
  }
}`,
  };
}

const SUM_CHUNKS: RawProgram = {
  key: 'mmctrSumChunks',
  bindings: [
    { name: 'partials', access: 'read', type: 'f32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: [
    { name: 'chunks', type: 'i32' },
    { name: 'units', type: 'i32' },
  ],
  body: `
@compute @workgroup_size(${COLS})
fn main(@builtin(global_invocation_id) gid : vec3<u32>) {
  let j = i32(gid.x);
  if (j >= u.units) { return; }
  var s = 0.0;
  for (var c = 0; c < u.chunks; c = c + 1) { s = s + partials[c * u.units + j]; }
  out[j] = s;
}`,
};

const asTensor = (t: TensorInfo) => tf.engine().makeTensorFromTensorInfo(t);

/** The fused layer tail (see the file comment): z [rows, units] → y [rows, units]. Webgpu only; any mode. */
export function webGpuDensePost(z: tf.Tensor2D, o: DensePostOptions): tf.Tensor2D {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`webGpuDensePost: the active backend is '${tf.getBackend()}', not webgpu`);
  if (z.rank !== 2 || z.dtype !== 'float32') throw new MmctrError(`webGpuDensePost: z must be float32 [rows, units], got ${z.dtype}[${z.shape}]`);
  const [rows, units] = z.shape;
  const rate = o.dropoutRate ?? 0;
  const v: Variant = { bias: !!o.bias, bn: !!o.batchNorm, relu: (o.activation ?? 'relu') === 'relu', drop: rate > 0 };
  if (v.drop && o.seed === undefined) throw new MmctrError('webGpuDensePost: a dropout needs a seed');
  const d = v.drop ? dropoutUniforms(rate, o.seed!) : undefined;
  if (d?.all) v.drop = false;
  const dropU = v.drop ? [d!.k1, d!.k2, d!.threshold, d!.keep] : [];
  const bn = o.batchNorm;
  const grid = workgroupGrid(Math.ceil((rows * units) / EW));
  const colGroups = Math.ceil(units / COLS);

  const inputs: tf.Tensor[] = [z];
  if (o.bias) inputs.push(o.bias);
  if (bn) inputs.push(bn.gamma, bn.beta);

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const zIn = args[0] as tf.Tensor;
    const biasIn = o.bias ? (args[1] as tf.Tensor) : undefined;
    const base: TensorInfo[] = biasIn ? [zIn, biasIn] : [zIn];
    let stats: tf.Tensor | undefined;
    if (bn) {
      const [gamma, beta] = args.slice(o.bias ? 2 : 1, o.bias ? 4 : 3) as tf.Tensor[];
      ownBuffer(bn.runningMean);
      ownBuffer(bn.runningVar);
      const s = allocOnGpu([4 * units]);
      const unbias = rows > 1 ? rows / (rows - 1) : 1;
      runRaw(
        statsProgram(v),
        [...base, gamma, beta, s, bn.runningMean, bn.runningVar],
        [rows, units, bn.epsilon, bn.momentum, 1 - bn.momentum, unbias],
        [colGroups, 1, 1],
        [bn.runningMean, bn.runningVar],
      );
      stats = asTensor(s);
    }
    const y = allocOnGpu([rows, units]);
    runRaw(applyProgram(v), [...base, ...(stats ? [stats] : []), y], [rows, units, ...dropU], grid);
    // Saved (kept past the forward pass's tidy): z, bias, stats.
    save([...(base as tf.Tensor[]), ...(stats ? [stats] : [])]);
    const value = asTensor(y) as tf.Tensor2D;
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dyT = dy as tf.Tensor;
        const ins: TensorInfo[] = [dyT, ...saved];
        if (bn) {
          const dgamma = allocOnGpu([units]);
          const dbeta = allocOnGpu([units]);
          const dbias = o.bias ? [allocOnGpu([units])] : [];
          runRaw(bnSumsProgram(v), [...ins, dgamma, dbeta, ...dbias], [rows, units, ...dropU], [colGroups, 1, 1]);
          const dz = allocOnGpu([rows, units]);
          runRaw(bnGradProgram(v), [...ins, dgamma, dbeta, dz], [rows, units, ...dropU], grid);
          return [asTensor(dz), ...dbias.map(asTensor), asTensor(dgamma), asTensor(dbeta)];
        }
        const dz = allocOnGpu([rows, units]);
        let chunk = Math.max(256, Math.ceil(rows / 65535));
        chunk = Math.ceil(chunk / SLICES) * SLICES;
        const chunks = Math.ceil(rows / chunk);
        if (!o.bias) {
          runRaw(plainGradProgram(v), [...ins, dz], [rows, units, chunk, ...dropU], [colGroups, chunks, 1]);
          return [asTensor(dz)];
        }
        const partials = allocOnGpu([chunks * units]);
        runRaw(plainGradProgram(v), [...ins, dz, partials], [rows, units, chunk, ...dropU], [colGroups, chunks, 1]);
        const dbias = allocOnGpu([units]);
        runRaw(SUM_CHUNKS, [partials, dbias], [chunks, units], [colGroups, 1, 1]);
        asTensor(partials).dispose();
        return [asTensor(dz), asTensor(dbias)];
      },
    };
  });
  return op(...inputs) as tf.Tensor2D;
}
