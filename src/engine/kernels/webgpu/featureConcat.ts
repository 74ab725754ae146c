/**
 * The input row of the models' output networks as one custom op on webgpu:
 *
 *   out[r] = [ T_1[ids_1[r]] ‖ … ‖ T_k[ids_k[r]] ‖ X_1[r] ‖ … ‖ X_m[r] ]            [b, k·e + Σ w_j]
 *
 * (context tables looked up with the padding rule of `EmbeddingTable`: zero where id ≤ 0; then dense blocks), with
 * the gradients of the tables and of the dense blocks. `ContextEncoder.concatWith` (src/models/features.ts) uses it
 * on webgpu, for the likes/views fields followed by the target and pooled vectors:
 *
 * | | dispatches | replaced |
 * |---|---|---|
 * | forward | 1 (`mmctrFeatureConcat`) | 2 lookups + 2 concats |
 * | backward | 1 (`mmctrFeatureConcatGrad`: the table gradients gather-style — one invocation per table entry sums dy over the rows holding its id, fixed order — and the dense blocks' slices of dy) | 2 concat gradients + 2 lookup gradients |
 *
 * The tables must be small (rows × batch ≤ 2²⁴ work in the gather-style gradient: the context tables have 11 rows).
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { type RawBinding, type RawProgram, allocOnGpu, maxStorageBuffers, runRaw, workgroupGrid, FLAT_MAIN } from './raw';

const WG = 256;
/** Most table rows × batch rows the gather-style gradient loops over. */
const MAX_GRAD_WORK = 1 << 24;

export interface LookupField {
  /** [rows, e] (trainable). */
  table: tf.Tensor;
  /** [b] int32. */
  ids: tf.Tensor;
}


/** Uniforms: b, e, width, then per table its rows, per dense block its width and column offset. */
function uniforms(k: number, m: number): RawProgram['uniforms'] {
  const u: RawProgram['uniforms'] = [
    { name: 'b', type: 'i32' },
    { name: 'e', type: 'i32' },
    { name: 'width', type: 'i32' },
  ];
  for (let i = 0; i < k; i++) u.push({ name: `rows${i}`, type: 'i32' });
  for (let j = 0; j < m; j++) u.push({ name: `w${j}`, type: 'i32' }, { name: `off${j}`, type: 'i32' });
  return u;
}

const programs = new Map<string, RawProgram>();

function forwardProgram(k: number, m: number): RawProgram {
  const key = `mmctrFeatureConcat_${k}_${m}`;
  let p = programs.get(key);
  if (p) return p;
  const bindings: RawBinding[] = [];
  for (let i = 0; i < k; i++) bindings.push({ name: `t${i}`, access: 'read', type: 'f32' }, { name: `ids${i}`, access: 'read', type: 'i32' });
  for (let j = 0; j < m; j++) bindings.push({ name: `x${j}`, access: 'read', type: 'f32' });
  bindings.push({ name: 'out', access: 'read_write', type: 'f32' });
  let branches = '';
  for (let i = 0; i < k; i++) {
    branches += `${i === 0 ? '' : ' else '}if (c < ${i + 1} * u.e) {
      let id = ids${i}[r];
      if (id > 0 && id < u.rows${i}) { v = t${i}[id * u.e + c - ${i} * u.e]; }
    }`;
  }
  for (let j = 0; j < m; j++) {
    const cond = j === m - 1 ? '' : `if (c < u.off${j} + u.w${j}) `;
    branches += `${k + j === 0 ? '' : ' else '}${cond}{ v = x${j}[r * u.w${j} + c - u.off${j}]; }`;
  }
  p = {
    key,
    bindings,
    uniforms: uniforms(k, m),
    body: `${FLAT_MAIN}
  if (idx >= u.b * u.width) { return; }
  let r = idx / u.width;
  let c = idx - r * u.width;
  var v = 0.0;
  ${branches}
  out[idx] = v;
}`,
  };
  programs.set(key, p);
  return p;
}

/** Work items: table i's entries (rows_i · e each, in order), then dense block j's elements (b · w_j each). */
function gradProgram(k: number, m: number): RawProgram {
  const key = `mmctrFeatureConcatGrad_${k}_${m}`;
  let p = programs.get(key);
  if (p) return p;
  const bindings: RawBinding[] = [{ name: 'dy', access: 'read', type: 'f32' }];
  for (let i = 0; i < k; i++) bindings.push({ name: `ids${i}`, access: 'read', type: 'i32' });
  for (let i = 0; i < k; i++) bindings.push({ name: `dt${i}`, access: 'read_write', type: 'f32' });
  for (let j = 0; j < m; j++) bindings.push({ name: `dx${j}`, access: 'read_write', type: 'f32' });
  let s = 'var q = idx;';
  for (let i = 0; i < k; i++) {
    s += `
  if (q < u.rows${i} * u.e) {
    let row = q / u.e;
    let col = q - row * u.e;
    var acc = 0.0;
    if (row > 0) {
      for (var r = 0; r < u.b; r = r + 1) { if (ids${i}[r] == row) { acc = acc + dy[r * u.width + ${i} * u.e + col]; } }
    }
    dt${i}[q] = acc;
    return;
  }
  q = q - u.rows${i} * u.e;`;
  }
  for (let j = 0; j < m; j++) {
    s += `
  if (q < u.b * u.w${j}) {
    let r = q / u.w${j};
    dx${j}[q] = dy[r * u.width + u.off${j} + q - r * u.w${j}];
    return;
  }
  q = q - u.b * u.w${j};`;
  }
  p = { key, bindings, uniforms: uniforms(k, m), body: `${FLAT_MAIN}\n  ${s}\n}` };
  programs.set(key, p);
  return p;
}

/**
 * Storage bindings the op needs: forward tables + ids + dense blocks + out; backward dy + ids + table gradients +
 * dense gradients — the same count.
 */
export function featureConcatBindings(tables: number, dense: number): number {
  return 2 * tables + dense + 1;
}

/**
 * [T_i[ids_i] ‖ … ‖ X_j ‖ …] [b, k·e + Σ w_j] with gradients to every table and dense block (see the header).
 * Throws when the shapes disagree, the tables are too large for the gather-style gradient or the device binds
 * too few storage buffers (callers check `featureConcatBindings` against `maxStorageBuffers()` first).
 */
export function webGpuFeatureConcat(fields: LookupField[], dense: tf.Tensor[]): tf.Tensor2D {
  const k = fields.length;
  const m = dense.length;
  if (k + m === 0) throw new MmctrError('webGpuFeatureConcat: nothing to concatenate');
  if (featureConcatBindings(k, m) > maxStorageBuffers()) {
    throw new MmctrError(`webGpuFeatureConcat: ${featureConcatBindings(k, m)} storage buffers needed, the device binds ${maxStorageBuffers()}`);
  }
  const b = k > 0 ? fields[0].ids.size : (dense[0].shape[0] as number);
  const e = k > 0 ? (fields[0].table.shape[1] as number) : 0;
  for (const f of fields) {
    if (f.table.rank !== 2 || f.table.shape[1] !== e || f.ids.dtype !== 'int32' || f.ids.size !== b) {
      throw new MmctrError(`webGpuFeatureConcat: a lookup field has table [${f.table.shape}] and ids [${f.ids.shape}] ${f.ids.dtype}; need [rows, ${e}] and int32 [${b}]`);
    }
    if (f.table.shape[0] * b > MAX_GRAD_WORK) throw new MmctrError(`webGpuFeatureConcat: table of ${f.table.shape[0]} rows is too large for the gather-style gradient`);
  }
  for (const x of dense) {
    if (x.rank !== 2 || x.shape[0] !== b) throw new MmctrError(`webGpuFeatureConcat: a dense block has shape [${x.shape}]; need [${b}, w]`);
  }
  const widths = dense.map((x) => x.shape[1] as number);
  const width = k * e + widths.reduce((s, w) => s + w, 0);
  const u: number[] = [b, e, width, ...fields.map((f) => f.table.shape[0])];
  let off = k * e;
  for (const w of widths) {
    u.push(w, off);
    off += w;
  }
  const ids = fields.map((f) => f.ids);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const inputs = args.slice(0, k + m) as tf.Tensor[];
    const save = args[k + m] as tf.GradSaveFunc;
    const out = allocOnGpu([b, width]);
    const bound: TensorInfo[] = [];
    for (let i = 0; i < k; i++) bound.push(inputs[i], ids[i]);
    bound.push(...inputs.slice(k), out);
    runRaw(forwardProgram(k, m), bound, u, workgroupGrid(Math.ceil((b * width) / WG)));
    save(ids);
    return {
      value: tf.engine().makeTensorFromTensorInfo(out),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const outs = [...fields.map((f) => allocOnGpu([...f.table.shape])), ...dense.map((x) => allocOnGpu([...x.shape]))];
        const work = fields.reduce((s, f) => s + f.table.shape[0] * e, 0) + widths.reduce((s, w) => s + b * w, 0);
        runRaw(gradProgram(k, m), [dy as tf.Tensor, ...saved, ...outs], u, workgroupGrid(Math.ceil(work / WG)));
        return outs.map((t) => tf.engine().makeTensorFromTensorInfo(t));
      },
    };
  });
  return op(...fields.map((f) => f.table), ...dense) as tf.Tensor2D;
}
