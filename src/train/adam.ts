/**
 * Adam as PyTorch's `torch.optim.Adam` computes it (FuxiCTR's optimiser), fused with the L2 terms and gradient
 * clipping, with its state in the open so that a checkpoint holds it exactly (moments per variable, step count):
 *
 *   g ← (∂BCE/∂W + λ·W) · min(1, maxNorm / (‖g‖ + 1e-6))        (‖·‖: global norm over all variables)
 *   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²,  t ← t + 1
 *   W ← W − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
 *
 * The L2 term and the update are dense, over whole embedding tables, because FuxiCTR's are: its
 * `BaseModel.regularization_loss` (reczoo/FuxiCTR, fuxictr/pytorch/models/rank_model.py, 2.x) adds
 * (λ/p)·‖param‖ₚᵖ for every parameter of the `FeatureEmbeddingDict` — the full tables, not the rows a batch looked
 * up — and `nn.Embedding`'s gradients are dense, so PyTorch's Adam moves every row every step (rows a batch did
 * not touch keep moving on their moments). A lazy / sparse Adam would be cheaper and is a different optimiser.
 *
 * Two implementations of the same arithmetic:
 * - `typed` (the CPU backends `cpu`, `wasm`): one pass for the norm and one for the update over the typed arrays,
 *   moments kept as Float32Arrays. Measured on a 91,718 × 64 table + a 640 × 1024 matrix: tfjs ops took ~1.9 s
 *   per update on `cpu` and ~105 ms on `wasm` (a dozen full-size element-wise kernels, each allocating). On the
 *   native backend (wasm + the OpenBLAS addon) both passes run in C++ on the tensors' own memory, on every core,
 *   with the same arithmetic bit for bit (the JS loops otherwise): ~230 → ~25 ms per update of the 8.6M-parameter
 *   baseline DIN.
 * - `tensor` (GPU and native backends): tfjs ops, moments kept as variables; nothing leaves the device but the norm.
 * Both store the moments as float32; `typed` computes each element's update in float64, so the two differ in the
 * last bits: a run is exact against itself on one backend (the determinism the trainer promises), not across.
 *
 * tfjs's own `AdamOptimizer` is not used: its β-power accumulators are not in `getWeights()` and its ε sits inside
 * the bias correction differently.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorMap } from './checkpoint';
import { CheckpointError } from './checkpoint';
import { nativeAdamOps } from '../engine/native';
import { WebGpuAdamArena } from '../engine/kernels/webgpu/adam';
import { MmctrError } from '../errors';

/** Elements per partial sum of the global norm (= kSumBlock in native/src/mmctr_native.cc). */
const SUM_BLOCK = 4096;

export interface AdamArgs {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export type AdamMode = 'typed' | 'tensor';

/** `typed` on the CPU backends, `tensor` elsewhere. */
export function defaultAdamMode(backend = tf.getBackend()): AdamMode {
  return backend === 'cpu' || backend === 'wasm' ? 'typed' : 'tensor';
}

export interface AdamStepOptions {
  learningRate: number;
  /** λ per variable: the gradient of (λ/2)·‖W‖² is added. */
  l2: number[];
  /** Clip the global norm to this. */
  maxGradNorm: number;
  /** Sees the global norm (after L2, before clipping) before anything is changed; throw to veto the update. */
  check?: (gradNorm: number) => void;
}

export class Adam {
  /** Updates applied so far (PyTorch's per-parameter `step`, the same for all here). */
  step = 0;
  readonly mode: AdamMode;
  private readonly m: (Float32Array | tf.Variable)[];
  private readonly v: (Float32Array | tf.Variable)[];
  /** webgpu: the flat arenas the update runs on (m, v above are then the checkpoint copies, synced on demand). */
  private arena: WebGpuAdamArena | null = null;

  /** `names[i]` names `vars[i]` in checkpoints. */
  constructor(
    private readonly vars: tf.Variable[],
    private readonly names: string[],
    private readonly args: AdamArgs,
    mode: AdamMode = defaultAdamMode(),
  ) {
    this.mode = mode;
    const zeros = () =>
      mode === 'typed'
        ? vars.map((x) => new Float32Array(x.size))
        : // Inside tidy: the zeros tensors go, the variables (not tracked by tidy) stay.
          tf.tidy(() => vars.map((x) => tf.variable(tf.zerosLike(x), false)));
    this.m = zeros();
    this.v = zeros();
  }

  /**
   * Counts the update and gives its scalars: the clipping factor min(1, maxNorm / (norm + 1e-6)), the bias-corrected
   * step size lr / (1 − β1ᵗ) and √(1 − β2ᵗ) — the same for every mode.
   */
  private advance(norm: number, o: AdamStepOptions): { scale: number; stepSize: number; sqrtBc2: number } {
    const scale = Math.min(1, o.maxGradNorm / (norm + 1e-6));
    this.step += 1;
    const { beta1, beta2 } = this.args;
    return { scale, stepSize: o.learningRate / (1 - beta1 ** this.step), sqrtBc2: Math.sqrt(1 - beta2 ** this.step) };
  }

  /** One update from the gradients `grads[i]` of `vars[i]` (the L2 terms not yet added). Returns the global norm. */
  async apply(grads: tf.Tensor[], o: AdamStepOptions): Promise<number> {
    return this.mode === 'typed' ? this.applyTyped(grads, o) : this.applyTensor(grads, o);
  }

  private async applyTyped(grads: tf.Tensor[], o: AdamStepOptions): Promise<number> {
    const n = this.vars.length;
    // Natively where the backend has the addon's kernels: the same arithmetic, bit for bit, on the tensors' own
    // memory (no copies out and back) and on every core. Per variable, the JS loops otherwise.
    const ops = nativeAdamOps();
    const g: (Float32Array | null)[] = [];
    const w: (Float32Array | null)[] = [];
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const lam = o.l2[i];
      const native = ops?.sumSquares(grads[i], this.vars[i], lam, sq) ?? null;
      if (native !== null) {
        sq = native;
        g.push(null);
        w.push(null);
        continue;
      }
      const gi = (await grads[i].data()) as Float32Array;
      const wi = (await this.vars[i].data()) as Float32Array;
      g.push(gi);
      w.push(wi);
      // Block by block (each from 0, then into sq in order), as the native pass adds on its threads.
      for (let k0 = 0; k0 < gi.length; k0 += SUM_BLOCK) {
        const k1 = Math.min(gi.length, k0 + SUM_BLOCK);
        let s = 0;
        if (lam > 0) {
          for (let k = k0; k < k1; k++) {
            const x = gi[k] + lam * wi[k];
            s += x * x;
          }
        } else {
          for (let k = k0; k < k1; k++) s += gi[k] * gi[k];
        }
        sq += s;
      }
    }
    // The norm as float32, as the tensor path computes it.
    const norm = Math.fround(Math.sqrt(sq));
    o.check?.(norm);
    const { scale, stepSize, sqrtBc2 } = this.advance(norm, o);
    const { beta1, beta2, epsilon } = this.args;
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    for (let i = 0; i < n; i++) {
      const mi = this.m[i] as Float32Array;
      const vi = this.v[i] as Float32Array;
      const lam = o.l2[i];
      const variable = this.vars[i];
      const gi = g[i];
      const wi = w[i];
      if (!gi || !wi) {
        const args = { lam, scale, beta1, beta2, stepSize, sqrtBc2, epsilon };
        const out = ops!.update(variable, grads[i], mi, vi, args);
        if (!out) throw new MmctrError(`Adam: native update declined ${this.names[i]} after its norm pass`);
        const t = tf.engine().makeTensorFromTensorInfo(out);
        variable.assign(t);
        t.dispose();
        continue;
      }
      const out = new Float32Array(wi.length);
      for (let k = 0; k < wi.length; k++) {
        const x = (gi[k] + lam * wi[k]) * scale;
        const mk = (mi[k] = beta1 * mi[k] + c1 * x);
        const vk = (vi[k] = beta2 * vi[k] + c2 * x * x);
        out[k] = wi[k] - (stepSize * mk) / (Math.sqrt(vk) / sqrtBc2 + epsilon);
      }
      tf.tidy(() => variable.assign(tf.tensor(out, variable.shape, 'float32')));
    }
    return norm;
  }

  /**
   * `tensor` mode on webgpu: the same arithmetic in a few fused WGSL dispatches (the norm pass, then W, m and v
   * updated in place; src/engine/kernels/webgpu/adam.ts) instead of ~15 tfjs kernels per variable.
   */
  private async applyWebGpu(grads: tf.Tensor[], o: AdamStepOptions): Promise<number> {
    if (!this.arena) {
      this.arena = new WebGpuAdamArena(this.vars);
      this.arena.loadMoments(this.m as tf.Variable[], this.v as tf.Variable[]);
    }
    const norm = await this.arena.globalNorm(grads, o.l2);
    o.check?.(norm);
    const { scale, stepSize, sqrtBc2 } = this.advance(norm, o);
    const { beta1, beta2, epsilon } = this.args;
    this.arena.update(o.l2, { scale, beta1, beta2, epsilon, stepSize, sqrtBc2 });
    return norm;
  }

  private async applyTensor(grads: tf.Tensor[], o: AdamStepOptions): Promise<number> {
    if (tf.getBackend() === 'webgpu') return this.applyWebGpu(grads, o);
    const full = tf.tidy(() => this.vars.map((x, i) => (o.l2[i] > 0 ? tf.add(grads[i], tf.mul(x, o.l2[i])) : tf.clone(grads[i]))));
    try {
      const normT = tf.tidy(() => tf.sqrt(tf.addN(full.map((x) => tf.sum(tf.square(x))))));
      const norm = (await normT.data())[0];
      normT.dispose();
      o.check?.(norm);
      const step = this.advance(norm, o);
      const scale = step.scale;
      const { beta1, beta2, epsilon } = this.args;
      tf.tidy(() => {
        const stepSize = tf.scalar(step.stepSize);
        const sqrtBc2 = tf.scalar(step.sqrtBc2);
        const b1 = tf.scalar(beta1);
        const b2 = tf.scalar(beta2);
        const c1 = tf.scalar(1 - beta1);
        const c2 = tf.scalar(1 - beta2);
        const eps = tf.scalar(epsilon);
        for (let i = 0; i < this.vars.length; i++) {
          const m0 = this.m[i] as tf.Variable;
          const v0 = this.v[i] as tf.Variable;
          const g = scale < 1 ? tf.mul(full[i], scale) : full[i];
          const m = tf.add(tf.mul(m0, b1), tf.mul(g, c1));
          const v = tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), c2));
          m0.assign(m);
          v0.assign(v);
          const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), eps);
          this.vars[i].assign(tf.sub(this.vars[i], tf.mul(stepSize, tf.div(m, denom))));
        }
      });
      return norm;
    } finally {
      tf.dispose(full);
    }
  }

  /** The moments as `m/<name>`, `v/<name>` (copies). */
  async state(): Promise<TensorMap> {
    if (this.arena) this.arena.storeMoments(this.m as tf.Variable[], this.v as tf.Variable[]);
    const out: TensorMap = new Map();
    for (const [prefix, list] of [['m/', this.m], ['v/', this.v]] as const) {
      for (let i = 0; i < list.length; i++) {
        const x = list[i];
        const data = x instanceof Float32Array ? x.slice() : ((await x.data()) as Float32Array).slice();
        out.set(`${prefix}${this.names[i]}`, { dtype: 'float32', shape: [...this.vars[i].shape], data });
      }
    }
    return out;
  }

  restore(state: TensorMap, step: number, what: string): void {
    if (!Number.isInteger(step) || step < 0) throw new CheckpointError(`${what}: Adam step ${step} is not a count`);
    for (const [prefix, list] of [['m/', this.m], ['v/', this.v]] as const) {
      for (let i = 0; i < list.length; i++) {
        const key = `${prefix}${this.names[i]}`;
        const t = state.get(key);
        const shape = this.vars[i].shape;
        if (!t) throw new CheckpointError(`${what}: no Adam moment ${key}`);
        if (t.dtype !== 'float32' || t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
          throw new CheckpointError(`${what}: Adam moment ${key} is ${t.dtype}[${t.shape}] there but float32[${shape}] in the model`);
        }
        const x = list[i];
        if (x instanceof Float32Array) x.set(t.data);
        else tf.tidy(() => x.assign(tf.tensor(t.data.slice(), t.shape, 'float32')));
      }
    }
    this.step = step;
    if (this.arena) this.arena.loadMoments(this.m as tf.Variable[], this.v as tf.Variable[]);
  }

  dispose(): void {
    this.arena?.dispose();
    this.arena = null;
    tf.dispose([...this.m, ...this.v].filter((x): x is tf.Variable => !(x instanceof Float32Array)));
  }
}
