/**
 * Adam on webgpu in two dispatches per step (src/train/adam.ts calls this in its `tensor` mode when the backend is
 * webgpu): the arithmetic of `Adam.applyTensor`, fused over flat arenas of all variables (`WebGpuAdamArena`):
 * - the global norm ‖(g_i + λ_i·W_i)_i‖: one dispatch of partial sums of squares (≤ 1024 workgroups, strided over
 *   the arena), read back once and summed on the host in float64;
 * - per element, in place on the arenas P (parameters), M and V:
 *     x = (g + λ·W)·scale;  m = m·β1 + x·(1−β1);  v = v·β2 + x²·(1−β2);  W = W − stepSize·(m / (√v / √bc2 + ε))
 *   the same float32 operations in the same order as the tfjs ops of `applyTensor`.
 * tfjs's ops took ~15 dispatches per variable (381 for the 25 variables of the baseline DIN); per-variable programs
 * grouped by the device's storage-buffer limit took 9 at lavapipe's limit of 16 and would take 17 at WebGPU's
 * default of 8; the arenas take 2 at any limit, plus buffer copies (gradients in, parameters out).
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { type RawProgram, allocOnGpu, copyRange, ownBuffer, runRaw, workgroupGrid } from './raw';

const WG = 256;

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

/** Elements per arena chunk: every variable starts at a chunk boundary, so a chunk belongs to one variable. */
const CHUNK = WG;
/** Workgroups of the arena's norm pass at most (a strided loop over the chunks covers the rest). */
const ARENA_NORM_WORKGROUPS = 1024;

const ARENA_NORM: RawProgram = {
  key: 'mmctrAdamArenaNorm',
  bindings: [
    { name: 'partials', access: 'read_write', type: 'f32' },
    { name: 'g', access: 'read', type: 'f32' },
    { name: 'p', access: 'read', type: 'f32' },
    { name: 'chunkVar', access: 'read', type: 'i32' },
    { name: 'lam', access: 'read', type: 'f32' },
  ],
  uniforms: [{ name: 'chunks', type: 'i32' }],
  body: `
var<workgroup> acc : array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lidU : u32) {
  let w = i32(wid.x + wid.y * nwg.x);
  let lid = i32(lidU);
  let stride = i32(nwg.x * nwg.y);
  var s = 0.0;
  for (var c = w; c < u.chunks; c = c + stride) {
    let i = c * ${CHUNK} + lid;
    let x = g[i] + lam[chunkVar[c]] * p[i];
    s = s + x * x;
  }
  acc[lidU] = s;
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o = o >> 1u) {
    if (lidU < o) { acc[lidU] = acc[lidU] + acc[lidU + o]; }
    workgroupBarrier();
  }
  if (lidU == 0u) { partials[w] = acc[0]; }
}`,
};

const ARENA_UPDATE: RawProgram = {
  key: 'mmctrAdamArenaUpdate',
  bindings: [
    { name: 'p', access: 'read_write', type: 'f32' },
    { name: 'g', access: 'read', type: 'f32' },
    { name: 'm', access: 'read_write', type: 'f32' },
    { name: 'v', access: 'read_write', type: 'f32' },
    { name: 'chunkVar', access: 'read', type: 'i32' },
    { name: 'lam', access: 'read', type: 'f32' },
  ],
  uniforms: [...['scale', 'b1', 'b2', 'c1', 'c2', 'stepSize', 'sqrtBc2', 'eps'].map((name) => ({ name, type: 'f32' as const })), { name: 'chunks', type: 'i32' }],
  body: `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lidU : u32) {
  let c = i32(wid.x + wid.y * nwg.x);
  if (c >= u.chunks) { return; }
  let i = c * ${CHUNK} + i32(lidU);
  let x = (g[i] + p[i] * lam[chunkVar[c]]) * u.scale;
  let m1 = m[i] * u.b1 + x * u.c1;
  let v1 = v[i] * u.b2 + (x * x) * u.c2;
  m[i] = m1;
  v[i] = v1;
  let denom = sqrt(v1) / u.sqrtBc2 + u.eps;
  p[i] = p[i] - u.stepSize * (m1 / denom);
}`,
};

/**
 * Adam on webgpu over flat arenas, so a step costs 2 dispatches whatever the number of variables or the device's
 * storage-buffer limit (per-variable programs grouped by the binding limit needed ⌈vars / ⌊limit/4⌋⌉ + ⌈vars / (limit − 1)⌉: 9
 * for the baseline DIN at lavapipe's 16, 17 at WebGPU's default 8):
 *
 *   copies in: every gradient into the G arena, and a variable into the P arena when it changed since the last
 *   step (its tensor data id differs: a checkpoint restore, an assign); one norm dispatch over G and P (partials,
 *   one read-back); one update dispatch over P, G, M, V; copies out: every P slice into its variable, in place.
 *
 * Each variable starts at a 256-element chunk boundary (the padding stays zero: zero gradient, zero moments, zero
 * parameter), and a chunk → variable table gives each element its L2 factor. Copies are encoder commands without a
 * pipeline, bind group or uniform upload, so they cost the host much less than the dispatches they replace
 * (webgpuCounters.ts counts them apart). The arithmetic is the file header's, element for element.
 */
export class WebGpuAdamArena {
  readonly chunks: number;
  private readonly offsets: number[];
  private readonly p: tf.Tensor;
  private readonly g: tf.Tensor;
  private m: tf.Tensor;
  private v: tf.Tensor;
  private readonly chunkVar: tf.Tensor;
  private lam: tf.Tensor | null = null;
  private lamKey = '';
  /** The data id each variable had when the P arena last matched it. */
  private readonly synced: (object | null)[];

  constructor(private readonly vars: tf.Variable[]) {
    this.offsets = [];
    let at = 0;
    const owner: number[] = [];
    vars.forEach((x, i) => {
      if (x.dtype !== 'float32') throw new MmctrError(`WebGpuAdamArena: variable ${x.name} is ${x.dtype}, not float32`);
      this.offsets.push(at);
      const chunks = Math.max(1, Math.ceil(x.size / CHUNK));
      for (let c = 0; c < chunks; c++) owner.push(i);
      at += chunks * CHUNK;
    });
    this.chunks = owner.length;
    // Host-built zeros: uploads, not dispatches.
    const zeros = () => tf.tensor1d(new Float32Array(at));
    [this.p, this.g, this.m, this.v] = [zeros(), zeros(), zeros(), zeros()];
    this.chunkVar = tf.tensor1d(Int32Array.from(owner), 'int32');
    this.synced = vars.map(() => null);
  }

  /** Sets the moments of every variable from per-variable tensors (after construction or a checkpoint restore). */
  loadMoments(m: tf.Tensor[], v: tf.Tensor[]): void {
    this.vars.forEach((x, i) => {
      copyRange(m[i], 0, this.m, 4 * this.offsets[i], 4 * x.size);
      copyRange(v[i], 0, this.v, 4 * this.offsets[i], 4 * x.size);
    });
  }

  /** Writes the arena's moments into per-variable tensors, in place (for checkpoints). */
  storeMoments(m: tf.Variable[], v: tf.Variable[]): void {
    this.vars.forEach((x, i) => {
      ownBuffer(m[i]);
      ownBuffer(v[i]);
      copyRange(this.m, 4 * this.offsets[i], m[i], 0, 4 * x.size);
      copyRange(this.v, 4 * this.offsets[i], v[i], 0, 4 * x.size);
    });
  }

  private lambdas(l2: number[]): tf.Tensor {
    const key = l2.join(',');
    if (!this.lam || key !== this.lamKey) {
      this.lam?.dispose();
      this.lam = tf.tensor1d(Float32Array.from(l2));
      this.lamKey = key;
    }
    return this.lam;
  }

  /** Copies the gradients (and changed variables) in, then ‖(g_i + λ_i·W_i)_i‖ in one dispatch and one read-back. */
  async globalNorm(grads: tf.Tensor[], l2: number[]): Promise<number> {
    const n = this.vars.length;
    if (grads.length !== n || l2.length !== n) throw new MmctrError(`WebGpuAdamArena: ${grads.length} gradients, ${l2.length} L2 factors for ${n} variables`);
    this.vars.forEach((x, i) => {
      if (grads[i].size !== x.size) throw new MmctrError(`WebGpuAdamArena: gradient ${i} has ${grads[i].size} elements, its variable ${x.size}`);
      ownBuffer(x);
      if (this.synced[i] !== x.dataId) {
        copyRange(x, 0, this.p, 4 * this.offsets[i], 4 * x.size);
        this.synced[i] = x.dataId;
      }
      copyRange(grads[i], 0, this.g, 4 * this.offsets[i], 4 * x.size);
    });
    const wgs = Math.min(ARENA_NORM_WORKGROUPS, this.chunks);
    const partials = allocOnGpu([wgs], 'float32');
    runRaw(ARENA_NORM, [partials, this.g, this.p, this.chunkVar, this.lambdas(l2)], [this.chunks], workgroupGrid(wgs));
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

  /** One update of P, M, V from the G arena (filled by `globalNorm`), then every variable from its P slice. */
  update(l2: number[], s: WebGpuAdamScalars): void {
    const shared = [s.scale, s.beta1, s.beta2, 1 - s.beta1, 1 - s.beta2, s.stepSize, s.sqrtBc2, s.epsilon];
    runRaw(ARENA_UPDATE, [this.p, this.g, this.m, this.v, this.chunkVar, this.lambdas(l2)], [...shared, this.chunks], workgroupGrid(this.chunks), [this.p, this.m, this.v]);
    this.vars.forEach((x, i) => {
      ownBuffer(x);
      copyRange(this.p, 4 * this.offsets[i], x, 0, 4 * x.size);
      this.synced[i] = x.dataId;
    });
  }

  dispose(): void {
    tf.dispose([this.p, this.g, this.m, this.v, this.chunkVar, ...(this.lam ? [this.lam] : [])]);
  }
}
