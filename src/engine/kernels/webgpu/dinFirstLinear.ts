/**
 * DIN attention's first Linear over [t, h, t − h, t ⊙ h] (src/models/layers/dinAttention.ts, `firstLinear`) for
 * webgpu as one custom op, without the bias (left to the fused layer tail, densePost.ts). With FuxiCTR's weight
 * layout W = [W_t; W_h; W_d; W_p] [4D, units]:
 *
 *   tq = t · (W_t + W_d)                                   [b, units]     once per row, not per history position
 *   z  = [h, t ⊙ h] · [W_h − W_d; W_p] + tq[row of h]      [b·L, units]
 *
 * in matrix products of the gemm.ts template whose operands are built on load (no 4·D-wide input, no weight
 * parts, no broadcast add in memory). Backward, from dz:
 *
 *   [G1 | G2 | G3] = dz · [W_h − W_d | W_p | W_t + W_d]ᵀ  (one product, three B operands)
 *   dH = G1 + t ⊙ G2;   dt = Σ_l (G3 + h ⊙ G2)
 *   dW = Xᵀ · dz with X = [t, h, t − h, t ⊙ h] built on load, split over the b·L positions (partials), then
 *   the partials summed in a fixed order together with the Σ_l of dt.
 *
 * | | dispatches | before (tfjs matMuls around weight-part and feature kernels) |
 * |---|---|---|
 * | forward | 2 (`mmctrDinFirstTarget`, `mmctrDinFirstHistory`) | 6 |
 * | backward | 3 (`mmctrDinFirstGradX`, `mmctrDinFirstGradW`, `mmctrDinFirstReduce`) | 13 |
 *
 * Same arithmetic as the tfjs ops up to float rounding (the tests compare with cpu at 1e-4).
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { gemmProgram, gemmSplits, gemmUniforms, gemmWorkgroups } from './gemm';
import { type RawProgram, allocOnGpu, runRaw, workgroupGrid } from './raw';

const WG = 256;
const SHAPE: RawProgram['uniforms'] = [
  { name: 'd', type: 'i32' },
  { name: 'units', type: 'i32' },
  { name: 'len', type: 'i32' },
];

/** tq [b, units] = t · (W_t + W_d). */
const FWD_TARGET = gemmProgram({
  key: 'mmctrDinFirstTarget',
  bindings: [
    { name: 'tgt', access: 'read', type: 'f32' },
    { name: 'wt', access: 'read', type: 'f32' },
    { name: 'tq', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  loadA: 'tgt[r * u.d + k]',
  loadB: ['wt[k * u.units + c] + wt[(2 * u.d + k) * u.units + c]'],
  store: 'tq[r * u.units + c] = acc0;',
});

/** z [b·L, units] = [h, t ⊙ h] · [W_h − W_d; W_p] + tq[r / L]. */
const FWD_HISTORY = gemmProgram({
  key: 'mmctrDinFirstHistory',
  bindings: [
    { name: 'tgt', access: 'read', type: 'f32' },
    { name: 'hist', access: 'read', type: 'f32' },
    { name: 'wt', access: 'read', type: 'f32' },
    { name: 'tq', access: 'read', type: 'f32' },
    { name: 'z', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  helpers: `
fn featA(row : i32, q : i32) -> f32 {
  if (q < u.d) { return hist[row * u.d + q]; }
  let p = q - u.d;
  return tgt[(row / u.len) * u.d + p] * hist[row * u.d + p];
}
fn weightB(q : i32, col : i32) -> f32 {
  if (q < u.d) { return wt[(u.d + q) * u.units + col] - wt[(2 * u.d + q) * u.units + col]; }
  return wt[(2 * u.d + q) * u.units + col];
}`,
  loadA: 'featA(r, k)',
  loadB: ['weightB(k, c)'],
  store: 'z[r * u.units + c] = acc0 + tq[(r / u.len) * u.units + c];',
});

/** dH [b·L, D] = G1 + t ⊙ G2, tmp [b·L, D] = G3 + h ⊙ G2 (summed over L into dt by the reduce pass). */
const GRAD_X = gemmProgram({
  key: 'mmctrDinFirstGradX',
  bindings: [
    { name: 'dz', access: 'read', type: 'f32' },
    { name: 'tgt', access: 'read', type: 'f32' },
    { name: 'hist', access: 'read', type: 'f32' },
    { name: 'wt', access: 'read', type: 'f32' },
    { name: 'dh', access: 'read_write', type: 'f32' },
    { name: 'tmp', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  loadA: 'dz[r * u.units + k]',
  loadB: [
    'wt[(u.d + c) * u.units + k] - wt[(2 * u.d + c) * u.units + k]',
    'wt[(3 * u.d + c) * u.units + k]',
    'wt[c * u.units + k] + wt[(2 * u.d + c) * u.units + k]',
  ],
  store: `let tv = tgt[(r / u.len) * u.d + c];
        let hv = hist[r * u.d + c];
        dh[r * u.d + c] = acc0 + tv * acc1;
        tmp[r * u.d + c] = acc2 + hv * acc1;`,
});

/** partials [S, 4D, units]: slice s of Xᵀ · dz over its positions, X = [t, h, t − h, t ⊙ h] per position. */
const GRAD_W = gemmProgram({
  key: 'mmctrDinFirstGradW',
  bindings: [
    { name: 'dz', access: 'read', type: 'f32' },
    { name: 'tgt', access: 'read', type: 'f32' },
    { name: 'hist', access: 'read', type: 'f32' },
    { name: 'parts', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  helpers: `
fn featT(col : i32, pos : i32) -> f32 {
  let part = col / u.d;
  let q = col - part * u.d;
  let tv = tgt[(pos / u.len) * u.d + q];
  let hv = hist[pos * u.d + q];
  if (part == 0) { return tv; }
  if (part == 1) { return hv; }
  if (part == 2) { return tv - hv; }
  return tv * hv;
}`,
  loadA: 'featT(r, k)',
  loadB: ['dz[k * u.units + c]'],
  store: 'parts[(split * u.gm + r) * u.gn + c] = acc0;',
});

/** Work items: dW (4D · units, Σ over the S partials), then dt (b · D, Σ over L of tmp). */
const REDUCE: RawProgram = {
  key: 'mmctrDinFirstReduce',
  bindings: [
    { name: 'parts', access: 'read', type: 'f32' },
    { name: 'tmp', access: 'read', type: 'f32' },
    { name: 'dw', access: 'read_write', type: 'f32' },
    { name: 'dt', access: 'read_write', type: 'f32' },
  ],
  uniforms: [...SHAPE, { name: 'b', type: 'i32' }, { name: 'splits', type: 'i32' }],
  body: `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let idx = i32(wid.x + wid.y * nwg.x) * ${WG} + i32(lid);
  let nw = 4 * u.d * u.units;
  if (idx < nw) {
    var s = 0.0;
    for (var p = 0; p < u.splits; p = p + 1) { s = s + parts[p * nw + idx]; }
    dw[idx] = s;
    return;
  }
  let q = idx - nw;
  if (q >= u.b * u.d) { return; }
  let bi = q / u.d;
  let k = q - bi * u.d;
  var s = 0.0;
  for (var l = 0; l < u.len; l = l + 1) { s = s + tmp[(bi * u.len + l) * u.d + k]; }
  dt[q] = s;
}`,
};

const asTensor = (t: ReturnType<typeof allocOnGpu>) => tf.engine().makeTensorFromTensorInfo(t);

/**
 * The first Linear of DIN attention without its bias: t [b, D], H [b, L, D], W [4D, units] (FuxiCTR's
 * [W_t; W_h; W_d; W_p]) → z [b·L, units], gradients to t, H and W. Webgpu only.
 */
export function webGpuDinFirstLinear(target: tf.Tensor2D, history: tf.Tensor3D, kernel: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`webGpuDinFirstLinear: the active backend is '${tf.getBackend()}', not webgpu`);
  const [b, len, d] = history.shape;
  const units = kernel.shape[1];
  if (kernel.shape[0] !== 4 * d || target.shape[1] !== d || target.shape[0] !== b) {
    throw new MmctrError(`webGpuDinFirstLinear: target [${target.shape}], history [${history.shape}], kernel [${kernel.shape}] do not fit`);
  }
  const rows = b * len;
  const shape = [d, units, len];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [t, h, w] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const tq = allocOnGpu([b, units]);
    const z = allocOnGpu([rows, units]);
    runRaw(FWD_TARGET, [t, w, tq], [...gemmUniforms(b, units, d), ...shape], gemmWorkgroups(b, units));
    runRaw(FWD_HISTORY, [t, h, w, tq, z], [...gemmUniforms(rows, units, 2 * d), ...shape], gemmWorkgroups(rows, units));
    asTensor(tq).dispose();
    save([t, h, w]);
    return {
      value: asTensor(z),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dz = dy as tf.Tensor;
        const [st, sh, sw] = saved;
        const dh = allocOnGpu([b, len, d]);
        const tmp = allocOnGpu([rows, d]);
        runRaw(GRAD_X, [dz, st, sh, sw, dh, tmp], [...gemmUniforms(rows, d, units), ...shape], gemmWorkgroups(rows, d));
        const splits = gemmSplits(4 * d, units, rows);
        const parts = allocOnGpu([splits, 4 * d, units]);
        runRaw(GRAD_W, [dz, st, sh, parts], [...gemmUniforms(4 * d, units, rows, splits), ...shape], gemmWorkgroups(4 * d, units, splits));
        const dw = allocOnGpu([4 * d, units]);
        const dt = allocOnGpu([b, d]);
        runRaw(REDUCE, [parts, tmp, dw, dt], [...shape, b, splits], workgroupGrid(Math.ceil((4 * d * units + b * d) / WG)));
        asTensor(parts).dispose();
        asTensor(tmp).dispose();
        return [asTensor(dt), asTensor(dh), asTensor(dw)];
      },
    };
  });
  return op(target, history, kernel) as tf.Tensor2D;
}
