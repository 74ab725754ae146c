/**
 * Adam on webgpu in a handful of dispatches (src/train/adam.ts calls this in its `tensor` mode when the backend is
 * webgpu): the arithmetic of `Adam.applyTensor`, fused.
 *
 * - `webGpuGlobalNorm`: ‖(g_i + λ_i·W_i)_i‖ over all variables. One raw dispatch per group of variables (as many
 *   as the device's storage-buffer limit binds: g, plus W where λ > 0); each workgroup of 256 writes the partial sum
 *   of squares of its slice (≤ 1024 workgroups per variable, strided loop) into one shared partials tensor; the
 *   partials (a few thousand floats) are read back in one read and summed on the host in float64.
 * - `webGpuAdamUpdate`: per element, in place on W, m and v (raw dispatch, 4 bindings per variable, as many
 *   variables per dispatch as the limit allows):
 *     x = (g + λ·W)·scale;  m = m·β1 + x·(1−β1);  v = v·β2 + x²·(1−β2);  W = W − stepSize·(m / (√v / √bc2 + ε))
 *   the same float32 operations in the same order as the tfjs ops of `applyTensor`.
 * tfjs's ops took ~15 dispatches per variable (381 for the 25 variables of the baseline DIN), each with a uniform
 * upload and a new output buffer; here 2 + ⌈25 / 4⌉ = 9 at a limit of 16 storage buffers (lavapipe), no new
 * buffers but the partials.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { type RawBinding, type RawProgram, allocOnGpu, maxStorageBuffers, ownBuffer, runRaw, workgroupGrid } from './raw';

const WG = 256;
/** Workgroups per variable in the norm pass at most (a strided loop covers the rest). */
const MAX_NORM_WORKGROUPS = 1024;
/** Elements per thread in the norm pass at least (fewer workgroups for small variables). */
const NORM_PER_THREAD = 8;

/** Splits `items` into consecutive groups whose binding cost stays ≤ `budget`. */
function groups<T>(items: T[], cost: (t: T) => number, budget: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let used = 0;
  for (const it of items) {
    const c = cost(it);
    if (cur.length > 0 && used + c > budget) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(it);
    used += c;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** `if (w < end0) { k = 0 } else if …` over the variables of a group, `body(k)` inside each branch. */
function perVariable(count: number, body: (k: number) => string): string {
  let s = '';
  for (let k = 0; k < count; k++) {
    const cond = k === count - 1 ? '' : `if (w < u.start${k + 1}) `;
    s += `${k === 0 ? '' : ' else '}${cond}{ let k0 = w - u.start${k}; ${body(k)} }`;
  }
  return s;
}

function normProgram(withW: boolean[]): RawProgram {
  const bindings: RawBinding[] = [{ name: 'partials', access: 'read_write', type: 'f32' }];
  const uniforms: RawProgram['uniforms'] = [
    { name: 'total', type: 'i32' },
    { name: 'base', type: 'i32' },
  ];
  withW.forEach((hasW, k) => {
    bindings.push({ name: `g${k}`, access: 'read', type: 'f32' });
    if (hasW) bindings.push({ name: `w${k}`, access: 'read', type: 'f32' });
    uniforms.push({ name: `n${k}`, type: 'i32' }, { name: `start${k}`, type: 'i32' }, { name: `count${k}`, type: 'i32' });
    if (hasW) uniforms.push({ name: `lam${k}`, type: 'f32' });
  });
  const body = perVariable(withW.length, (k) => {
    const x = withW[k] ? `g${k}[i] + u.lam${k} * w${k}[i]` : `g${k}[i]`;
    return `let stride = u.count${k} * ${WG};
      for (var i = k0 * ${WG} + lid; i < u.n${k}; i = i + stride) { let x = ${x}; s = s + x * x; }`;
  });
  return {
    key: `mmctrAdamNorm_${withW.map((b) => (b ? 'w' : 'g')).join('')}`,
    bindings,
    uniforms,
    body: `
var<workgroup> acc : array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lidU : u32) {
  let w = i32(wid.x + wid.y * nwg.x);
  let lid = i32(lidU);
  var s = 0.0;
  if (w < u.total) { ${body} }
  acc[lidU] = s;
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o = o >> 1u) {
    if (lidU < o) { acc[lidU] = acc[lidU] + acc[lidU + o]; }
    workgroupBarrier();
  }
  if (lidU == 0u && w < u.total) { partials[u.base + w] = acc[0]; }
}`,
  };
}

/** The global norm ‖(g_i + λ_i·W_i)_i‖ (float32, like the tfjs-ops path). One read-back. */
export async function webGpuGlobalNorm(grads: tf.Tensor[], vars: tf.Tensor[], l2: number[]): Promise<number> {
  if (grads.length !== vars.length || l2.length !== vars.length) {
    throw new MmctrError(`webGpuGlobalNorm: ${grads.length} gradients, ${vars.length} variables, ${l2.length} L2 factors`);
  }
  const items = vars.map((w, i) => {
    if (grads[i].size !== w.size) throw new MmctrError(`webGpuGlobalNorm: gradient ${i} has ${grads[i].size} elements, its variable ${w.size}`);
    return { i, n: w.size, hasW: l2[i] > 0, wgs: Math.max(1, Math.min(MAX_NORM_WORKGROUPS, Math.ceil(w.size / (WG * NORM_PER_THREAD)))) };
  });
  const totalPartials = items.reduce((s, it) => s + it.wgs, 0);
  const partials = allocOnGpu([totalPartials], 'float32');
  let base = 0;
  for (const group of groups(items, (it) => (it.hasW ? 2 : 1), maxStorageBuffers() - 1)) {
    const tensors: TensorInfo[] = [partials];
    let start = 0;
    const uni: number[] = [0, base];
    for (const it of group) {
      tensors.push(grads[it.i]);
      if (it.hasW) tensors.push(vars[it.i]);
      uni.push(it.n, start, it.wgs);
      if (it.hasW) uni.push(l2[it.i]);
      start += it.wgs;
    }
    uni[0] = start;
    runRaw(normProgram(group.map((it) => it.hasW)), tensors, uni, workgroupGrid(start));
    base += start;
  }
  const t = tf.engine().makeTensorFromTensorInfo(partials);
  try {
    const data = (await t.data()) as Float32Array;
    let sq = 0;
    for (let k = 0; k < data.length; k++) sq += data[k];
    return Math.fround(Math.sqrt(Math.fround(sq)));
  } finally {
    t.dispose();
  }
}

/** The scalars of one update (see the file comment). */
export interface WebGpuAdamScalars {
  /** Clipping factor min(1, maxNorm / (norm + 1e-6)). */
  scale: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
  /** √(1 − β2ᵗ). */
  sqrtBc2: number;
}

function updateProgram(withW: boolean[], scaled: boolean): RawProgram {
  const bindings: RawBinding[] = [];
  const uniforms: RawProgram['uniforms'] = ['scale', 'b1', 'b2', 'c1', 'c2', 'stepSize', 'sqrtBc2', 'eps'].map((name) => ({ name, type: 'f32' as const }));
  uniforms.push({ name: 'total', type: 'i32' });
  withW.forEach((hasW, k) => {
    bindings.push(
      { name: `w${k}`, access: 'read_write', type: 'f32' },
      { name: `g${k}`, access: 'read', type: 'f32' },
      { name: `m${k}`, access: 'read_write', type: 'f32' },
      { name: `v${k}`, access: 'read_write', type: 'f32' },
    );
    uniforms.push({ name: `n${k}`, type: 'i32' }, { name: `start${k}`, type: 'i32' });
    if (hasW) uniforms.push({ name: `lam${k}`, type: 'f32' });
  });
  const body = perVariable(withW.length, (k) => {
    const full = withW[k] ? `g${k}[i] + w${k}[i] * u.lam${k}` : `g${k}[i]`;
    return `let i = k0 * ${WG} + lid;
      if (i < u.n${k}) {
        let x = ${scaled ? `(${full}) * u.scale` : full};
        let m = m${k}[i] * u.b1 + x * u.c1;
        let v = v${k}[i] * u.b2 + (x * x) * u.c2;
        m${k}[i] = m;
        v${k}[i] = v;
        let denom = sqrt(v) / u.sqrtBc2 + u.eps;
        w${k}[i] = w${k}[i] - u.stepSize * (m / denom);
      }`;
  });
  return {
    key: `mmctrAdamUpdate_${scaled ? 's' : 'u'}${withW.map((b) => (b ? 'w' : 'g')).join('')}`,
    bindings,
    uniforms,
    body: `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lidU : u32) {
  let w = i32(wid.x + wid.y * nwg.x);
  let lid = i32(lidU);
  if (w >= u.total) { return; }
  ${body}
}`,
  };
}

/** One Adam update of every variable, in place on `vars`, `m` and `v` (see the file comment). */
export function webGpuAdamUpdate(
  vars: tf.Variable[],
  grads: tf.Tensor[],
  m: tf.Variable[],
  v: tf.Variable[],
  l2: number[],
  s: WebGpuAdamScalars,
): void {
  const n = vars.length;
  if (grads.length !== n || m.length !== n || v.length !== n || l2.length !== n) {
    throw new MmctrError(`webGpuAdamUpdate: ${n} variables, ${grads.length} gradients, ${m.length}/${v.length} moments, ${l2.length} L2 factors`);
  }
  for (let i = 0; i < n; i++) {
    for (const x of [vars[i], m[i], v[i]]) {
      if (x.dtype !== 'float32' || x.size !== grads[i].size) {
        throw new MmctrError(`webGpuAdamUpdate: variable ${vars[i].name}: ${x.dtype}[${x.size}] against a gradient of ${grads[i].size}`);
      }
      ownBuffer(x);
    }
  }
  const scaled = s.scale !== 1;
  const shared = [s.scale, s.beta1, s.beta2, 1 - s.beta1, 1 - s.beta2, s.stepSize, s.sqrtBc2, s.epsilon];
  const items = vars.map((_, i) => ({ i, hasW: l2[i] > 0, wgs: Math.max(1, Math.ceil(vars[i].size / WG)) }));
  for (const group of groups(items, () => 4, maxStorageBuffers())) {
    const tensors: TensorInfo[] = [];
    const writes: TensorInfo[] = [];
    const uni = [...shared, 0];
    let start = 0;
    for (const it of group) {
      tensors.push(vars[it.i], grads[it.i], m[it.i], v[it.i]);
      writes.push(vars[it.i], m[it.i], v[it.i]);
      uni.push(vars[it.i].size, start);
      if (it.hasW) uni.push(l2[it.i]);
      start += it.wgs;
    }
    uni[shared.length] = start;
    runRaw(updateProgram(group.map((it) => it.hasW), scaled), tensors, uni, workgroupGrid(start), writes);
  }
}
