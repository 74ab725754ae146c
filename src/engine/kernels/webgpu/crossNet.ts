/**
 * CrossNet v1 (src/models/layers/crossNet.ts) as one custom op on webgpu for training steps:
 *
 *   s_l = x_l · w_l [rows];   x_{l+1} = x_l + (x0 · s_l + b_l);   out = x_L        (x_0 = x0 [rows, d])
 *
 * and its backward, with c_l = g_{l+1} · x0 [rows] (g_l = dL/dx_l):
 *
 *   g_l = g_{l+1} + w_l · c_l;   dx0 = g_0 + Σ_l g_{l+1} · s_l;   dw_l = Σ_rows x_l · c_l;   db_l = Σ_rows g_{l+1}
 *
 * | forward (1) | backward (2) |
 * |---|---|
 * | `Rows`: a workgroup per row runs every layer (the dot products reduced in workgroup memory); out and s | `RowsGrad`: per row c_l and dx0 (g kept in registers) |
 * | | `Cols`: per column dw_l, db_l over all rows (x_l and g_{l+1} recomputed from x0, s, c, dy), in a fixed order |
 *
 * instead of tfjs's matMul, mul and two adds per layer forward and about twice that backward (40 dispatches for 3
 * layers). The weights go in and their gradients out through buffer copies (no dispatch), so each program binds
 * ≤ 6 storage buffers whatever the number of layers. Deterministic: every sum in a fixed order.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { type RawBinding, type RawProgram, allocOnGpu, copyRange, runRaw, workgroupGrid } from './raw';

const WG = 256;
/** Elements of a row per thread in the per-row programs (private arrays): d ≤ 8 · 256. */
const PER_THREAD = 8;
/** Widest input the op takes. */
export const CROSS_NET_MAX_DIM = PER_THREAD * WG;
/** Most layers the op takes (per-thread accumulators of `Cols`). */
export const CROSS_NET_MAX_LAYERS = 8;
const COLS = 64;
const SLICES = 4;

const U: RawProgram['uniforms'] = [
  { name: 'rows', type: 'i32' },
  { name: 'd', type: 'i32' },
  { name: 'nl', type: 'i32' },
];
const r = (name: string): RawBinding => ({ name, access: 'read', type: 'f32' });
const rw = (name: string): RawBinding => ({ name, access: 'read_write', type: 'f32' });

/** A workgroup per row; `red` reduces one value per thread (`reduce(v)` returns the row's sum to every thread). */
const ROW_HEAD = `
var<workgroup> red : array<f32, ${WG}>;
fn reduce(li : u32, v : f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var st = ${WG / 2}u; st > 0u; st = st >> 1u) {
    if (li < st) { red[li] = red[li] + red[li + st]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) li : u32) {
  let row = i32(wid.x + wid.y * nwg.x);
  if (row >= u.rows) { return; }
  let t = i32(li);
  var xz : array<f32, ${PER_THREAD}>;
  for (var i = 0; i < ${PER_THREAD}; i = i + 1) {
    let q = t + i * ${WG};
    if (q < u.d) { xz[i] = x0[row * u.d + q]; }
  }`;

/** wb = [w_0 … w_{L−1}; b_0 … b_{L−1}] [2L, d]; s [rows, L]. */
const ROWS: RawProgram = {
  key: 'mmctrCrossNetRows',
  bindings: [r('x0'), r('wb'), rw('out'), rw('s')],
  uniforms: U,
  body: `${ROW_HEAD}
  var x = xz;
  for (var l = 0; l < u.nl; l = l + 1) {
    var p = 0.0;
    for (var i = 0; i < ${PER_THREAD}; i = i + 1) {
      let q = t + i * ${WG};
      if (q < u.d) { p = p + x[i] * wb[l * u.d + q]; }
    }
    let sl = reduce(li, p);
    for (var i = 0; i < ${PER_THREAD}; i = i + 1) {
      let q = t + i * ${WG};
      if (q < u.d) { x[i] = x[i] + (xz[i] * sl + wb[(u.nl + l) * u.d + q]); }
    }
    if (t == 0) { s[row * u.nl + l] = sl; }
  }
  for (var i = 0; i < ${PER_THREAD}; i = i + 1) {
    let q = t + i * ${WG};
    if (q < u.d) { out[row * u.d + q] = x[i]; }
  }
}`,
};

/** c [rows, L] and dx0 [rows, d] from dy. */
const ROWS_GRAD: RawProgram = {
  key: 'mmctrCrossNetRowsGrad',
  bindings: [r('x0'), r('wb'), r('s'), r('dy'), rw('dx0'), rw('c')],
  uniforms: U,
  body: `${ROW_HEAD}
  var g : array<f32, ${PER_THREAD}>;
  var dx : array<f32, ${PER_THREAD}>;
  for (var i = 0; i < ${PER_THREAD}; i = i + 1) {
    let q = t + i * ${WG};
    if (q < u.d) { g[i] = dy[row * u.d + q]; }
  }
  for (var l = u.nl - 1; l >= 0; l = l - 1) {
    var p = 0.0;
    for (var i = 0; i < ${PER_THREAD}; i = i + 1) { p = p + g[i] * xz[i]; }
    let cl = reduce(li, p);
    let sl = s[row * u.nl + l];
    for (var i = 0; i < ${PER_THREAD}; i = i + 1) {
      let q = t + i * ${WG};
      if (q < u.d) {
        dx[i] = dx[i] + g[i] * sl;
        g[i] = g[i] + wb[l * u.d + q] * cl;
      }
    }
    if (t == 0) { c[row * u.nl + l] = cl; }
  }
  for (var i = 0; i < ${PER_THREAD}; i = i + 1) {
    let q = t + i * ${WG};
    if (q < u.d) { dx0[row * u.d + q] = g[i] + dx[i]; }
  }
}`,
};

/** dwb = [dw_0 … ; db_0 …] [2L, d]: per column, over the rows in 4 interleaved slices, summed in order. */
const COLS_GRAD: RawProgram = {
  key: 'mmctrCrossNetCols',
  bindings: [r('x0'), r('wb'), r('s'), r('c'), r('dy'), rw('dwb')],
  uniforms: U,
  body: `
var<workgroup> red : array<f32, ${COLS * SLICES}>;
@compute @workgroup_size(${COLS}, ${SLICES})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let k = i32(wid.x) * ${COLS} + i32(lid.x);
  let ok = k < u.d;
  let slot = lid.y * ${COLS}u + lid.x;
  var dw : array<f32, ${CROSS_NET_MAX_LAYERS}>;
  var db : array<f32, ${CROSS_NET_MAX_LAYERS}>;
  if (ok) {
    for (var row = i32(lid.y); row < u.rows; row = row + ${SLICES}) {
      let xv0 = x0[row * u.d + k];
      var x = xv0;
      for (var l = 0; l < u.nl; l = l + 1) {
        dw[l] = dw[l] + x * c[row * u.nl + l];
        x = x + (xv0 * s[row * u.nl + l] + wb[(u.nl + l) * u.d + k]);
      }
      var g = dy[row * u.d + k];
      for (var l = u.nl - 1; l >= 0; l = l - 1) {
        db[l] = db[l] + g;
        g = g + wb[l * u.d + k] * c[row * u.nl + l];
      }
    }
  }
  for (var q = 0; q < 2 * u.nl; q = q + 1) {
    var v = 0.0;
    if (q < u.nl) { v = dw[q]; } else { v = db[q - u.nl]; }
    red[slot] = v;
    workgroupBarrier();
    if (ok && lid.y == 0u) {
      dwb[q * u.d + k] = red[lid.x] + red[${COLS}u + lid.x] + red[${2 * COLS}u + lid.x] + red[${3 * COLS}u + lid.x];
    }
    workgroupBarrier();
  }
}`,
};

const asTensor = (t: TensorInfo) => tf.engine().makeTensorFromTensorInfo(t);

/** The cross network (see the header): x0 [rows, d], w_l [d, 1], b_l [d] → x_L [rows, d], with every gradient. */
export function webGpuCrossNet(x0: tf.Tensor2D, ws: tf.Tensor[], bs: tf.Tensor[]): tf.Tensor2D {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`webGpuCrossNet: the active backend is '${tf.getBackend()}', not webgpu`);
  const [rows, d] = x0.shape;
  const nl = ws.length;
  if (nl < 1 || nl > CROSS_NET_MAX_LAYERS || bs.length !== nl || d > CROSS_NET_MAX_DIM || ws.some((w) => w.size !== d) || bs.some((b) => b.size !== d)) {
    throw new MmctrError(`webGpuCrossNet: ${nl} layers (1 to ${CROSS_NET_MAX_LAYERS}) of width ${d} (≤ ${CROSS_NET_MAX_DIM}) with weights [${ws.map((w) => w.shape)}], biases [${bs.map((b) => b.shape)}]`);
  }
  const uni = [rows, d, nl];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args.slice(0, 1 + 2 * nl) as tf.Tensor[];
    const save = args[1 + 2 * nl] as tf.GradSaveFunc;
    const x = t[0];
    const wb = allocOnGpu([2 * nl, d]);
    t.slice(1).forEach((v, i) => copyRange(v, 0, wb, 4 * i * d, 4 * d));
    const out = allocOnGpu([rows, d]);
    const s = allocOnGpu([rows, nl]);
    runRaw(ROWS, [x, wb, out, s], uni, workgroupGrid(rows));
    save([x, asTensor(wb), asTensor(s)]);
    return {
      value: asTensor(out),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, swb, ss] = saved;
        const dx0 = allocOnGpu([rows, d]);
        const c = allocOnGpu([rows, nl]);
        runRaw(ROWS_GRAD, [sx, swb, ss, dy as tf.Tensor, dx0, c], uni, workgroupGrid(rows));
        const dwb = allocOnGpu([2 * nl, d]);
        runRaw(COLS_GRAD, [sx, swb, ss, c, dy as tf.Tensor, dwb], uni, [Math.ceil(d / COLS), 1, 1]);
        const grads = t.slice(1).map((v, i) => {
          const g = allocOnGpu([...v.shape]);
          copyRange(dwb, 4 * i * d, g, 0, 4 * d);
          return g;
        });
        tf.dispose([asTensor(c), asTensor(dwb)]);
        return [dx0, ...grads].map(asTensor);
      },
    };
  });
  return op(x0, ...ws, ...bs) as tf.Tensor2D;
}
