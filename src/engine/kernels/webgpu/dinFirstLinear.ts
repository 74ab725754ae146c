/**
 * DIN attention's first Linear over [t, h, t − h, t ⊙ h] (src/models/layers/dinAttention.ts, `firstLinear`) for
 * webgpu, with the same split of the work and no 4·D-wide input:
 *   z = t·(W_t + W_d)  (once per row, broadcast over the history)  +  [h, t ⊙ h]·[W_h − W_d; W_p]
 * as custom ops over raw WGSL programs (raw.ts) around two tfjs matMuls:
 * - `targetWeights(W)` → W_t + W_d [D, units] and `historyWeights(W)` → [W_h − W_d; W_p] [2D, units]: one dispatch
 *   each, and one each backward (the gradient written straight into W's [4D, units] layout); instead of a 4-way
 *   split (4 slices), an add and a sub, and their gradients (a concat, neg, adds).
 * - `historyFeatures(t, H)` → [h, t ⊙ h] [b·L, 2D]: one dispatch; backward one (dH, and dt summed over L).
 * The bias is left to the fused layer tail (densePost.ts). Same arithmetic as the tfjs ops up to float rounding.
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { type RawProgram, allocOnGpu, runRaw, workgroupGrid } from './raw';

const WG = 256;
const HEAD = `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let idx = i32(wid.x + wid.y * nwg.x) * ${WG} + i32(lid);`;

const DIMS: RawProgram['uniforms'] = [
  { name: 'd', type: 'i32' },
  { name: 'units', type: 'i32' },
];

/** out [D, units] = W[0:D] + W[2D:3D]. */
const TARGET_W: RawProgram = {
  key: 'mmctrDinTargetW',
  bindings: [
    { name: 'w', access: 'read', type: 'f32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: DIMS,
  body: `${HEAD}
  let du = u.d * u.units;
  if (idx >= du) { return; }
  out[idx] = w[idx] + w[2 * du + idx];
}`,
};

/** dW [4D, units]: rows t and d get g, rows h and p 0. */
const TARGET_W_GRAD: RawProgram = {
  key: 'mmctrDinTargetWGrad',
  bindings: [
    { name: 'g', access: 'read', type: 'f32' },
    { name: 'dw', access: 'read_write', type: 'f32' },
  ],
  uniforms: DIMS,
  body: `${HEAD}
  let du = u.d * u.units;
  if (idx >= 4 * du) { return; }
  let part = idx / du;
  let k = idx - part * du;
  var v = 0.0;
  if (part == 0 || part == 2) { v = g[k]; }
  dw[idx] = v;
}`,
};

/** out [2D, units] = [W[D:2D] − W[2D:3D]; W[3D:4D]]. */
const HISTORY_W: RawProgram = {
  key: 'mmctrDinHistoryW',
  bindings: [
    { name: 'w', access: 'read', type: 'f32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: DIMS,
  body: `${HEAD}
  let du = u.d * u.units;
  if (idx >= 2 * du) { return; }
  if (idx < du) { out[idx] = w[du + idx] - w[2 * du + idx]; } else { out[idx] = w[2 * du + idx]; }
}`,
};

/** dW [4D, units] from g [2D, units]: rows t 0, h g[0:D], d −g[0:D], p g[D:2D]. */
const HISTORY_W_GRAD: RawProgram = {
  key: 'mmctrDinHistoryWGrad',
  bindings: [
    { name: 'g', access: 'read', type: 'f32' },
    { name: 'dw', access: 'read_write', type: 'f32' },
  ],
  uniforms: DIMS,
  body: `${HEAD}
  let du = u.d * u.units;
  if (idx >= 4 * du) { return; }
  let part = idx / du;
  let k = idx - part * du;
  var v = 0.0;
  if (part == 1) { v = g[k]; } else if (part == 2) { v = -g[k]; } else if (part == 3) { v = g[du + k]; }
  dw[idx] = v;
}`,
};

const FEAT_UNIFORMS: RawProgram['uniforms'] = [
  { name: 'b', type: 'i32' },
  { name: 'len', type: 'i32' },
  { name: 'd', type: 'i32' },
];

/** X [b·L, 2D] = [h, t ⊙ h]. */
const FEATURES: RawProgram = {
  key: 'mmctrDinFeatures',
  bindings: [
    { name: 't', access: 'read', type: 'f32' },
    { name: 'h', access: 'read', type: 'f32' },
    { name: 'x', access: 'read_write', type: 'f32' },
  ],
  uniforms: FEAT_UNIFORMS,
  body: `${HEAD}
  if (idx >= u.b * u.len * u.d) { return; }
  let r = idx / u.d;
  let k = idx - r * u.d;
  let bi = r / u.len;
  let hv = h[idx];
  x[r * 2 * u.d + k] = hv;
  x[r * 2 * u.d + u.d + k] = t[bi * u.d + k] * hv;
}`,
};

/** dH = dX_h + dX_p ⊙ t; dt = Σ_l dX_p ⊙ h (one invocation per (row, k), looping over the history). */
const FEATURES_GRAD: RawProgram = {
  key: 'mmctrDinFeaturesGrad',
  bindings: [
    { name: 'dx', access: 'read', type: 'f32' },
    { name: 't', access: 'read', type: 'f32' },
    { name: 'h', access: 'read', type: 'f32' },
    { name: 'dt', access: 'read_write', type: 'f32' },
    { name: 'dh', access: 'read_write', type: 'f32' },
  ],
  uniforms: FEAT_UNIFORMS,
  body: `${HEAD}
  if (idx >= u.b * u.d) { return; }
  let bi = idx / u.d;
  let k = idx - bi * u.d;
  let tv = t[idx];
  var s = 0.0;
  for (var l = 0; l < u.len; l = l + 1) {
    let r = bi * u.len + l;
    let dp = dx[r * 2 * u.d + u.d + k];
    dh[r * u.d + k] = dx[r * 2 * u.d + k] + dp * tv;
    s = s + dp * h[r * u.d + k];
  }
  dt[idx] = s;
}`,
};

const grid = (n: number) => workgroupGrid(Math.ceil(n / WG));
const asTensor = (t: ReturnType<typeof allocOnGpu>) => tf.engine().makeTensorFromTensorInfo(t);

/** W [4D, units] → W_t + W_d [D, units] (or [W_h − W_d; W_p] [2D, units] with `history`), gradient to W. */
function weightPart(kernel: tf.Tensor2D, history: boolean): tf.Tensor2D {
  const [rows4, units] = kernel.shape;
  const d = rows4 / 4;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const w = args[0] as tf.Tensor;
    const out = allocOnGpu([history ? 2 * d : d, units]);
    runRaw(history ? HISTORY_W : TARGET_W, [w, out], [d, units], grid((history ? 2 : 1) * d * units));
    return {
      value: asTensor(out),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const dw = allocOnGpu([rows4, units]);
        runRaw(history ? HISTORY_W_GRAD : TARGET_W_GRAD, [dy as tf.Tensor, dw], [d, units], grid(4 * d * units));
        return [asTensor(dw)];
      },
    };
  });
  return op(kernel) as tf.Tensor2D;
}

/** t [b, D], H [b, L, D] → [h, t ⊙ h] [b·L, 2D], gradients to t and H. */
function historyFeatures(target: tf.Tensor2D, history: tf.Tensor3D): tf.Tensor2D {
  const [b, len, d] = history.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [t, h] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    const x = allocOnGpu([b * len, 2 * d]);
    runRaw(FEATURES, [t, h, x], [b, len, d], grid(b * len * d));
    save([t, h]);
    return {
      value: asTensor(x),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dt = allocOnGpu([b, d]);
        const dh = allocOnGpu([b, len, d]);
        runRaw(FEATURES_GRAD, [dy as tf.Tensor, saved[0], saved[1], dt, dh], [b, len, d], grid(b * d));
        return [asTensor(dt), asTensor(dh)];
      },
    };
  });
  return op(target, history) as tf.Tensor2D;
}

/**
 * The first Linear of DIN attention without its bias: t [b, D], H [b, L, D], W [4D, units] (FuxiCTR's
 * [W_t; W_h; W_d; W_p]) → z [b·L, units]. Webgpu only.
 */
export function webGpuDinFirstLinear(target: tf.Tensor2D, history: tf.Tensor3D, kernel: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`webGpuDinFirstLinear: the active backend is '${tf.getBackend()}', not webgpu`);
  const [b, len, d] = history.shape;
  const units = kernel.shape[1];
  if (kernel.shape[0] !== 4 * d || target.shape[1] !== d || target.shape[0] !== b) {
    throw new MmctrError(`webGpuDinFirstLinear: target [${target.shape}], history [${history.shape}], kernel [${kernel.shape}] do not fit`);
  }
  return tf.tidy(() => {
    const targetPart = tf.matMul(target, weightPart(kernel, false)); // [b, units]
    const historyPart = tf.matMul(historyFeatures(target, history), weightPart(kernel, true)); // [b·L, units]
    const z = tf.add(tf.reshape(historyPart, [b, len, units]), tf.expandDims(targetPart, 1)); // [b, L, units]
    return tf.reshape(z, [b * len, units]) as tf.Tensor2D;
  });
}
