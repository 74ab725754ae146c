/**
 * A Linear with a narrow output (the logit layer of every output network: [rows, k] → [rows, o], o ≤ 8) as one
 * custom op on webgpu: y = x · W + b in one dispatch (a thread per output, looping over k), and the whole backward
 * in one:
 *
 *   dx = dy · Wᵀ (a thread per element of x);   dW = xᵀ · dy and db = Σ_r dy (a thread per entry, looping over rows)
 *
 * instead of tfjs's matMul + add forward (2 dispatches) and the matMul pair plus the bias's sum backward (4).
 * The per-entry loops run over all rows (the batch, ≤ tens of thousands), in a fixed order: deterministic.
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { type RawProgram, allocOnGpu, runRaw, workgroupGrid, FLAT_MAIN } from './raw';

const WG = 256;
/** Widest output this op takes (a thread per output loops over k; a thread per dW entry over the rows). */
export const NARROW_LINEAR_MAX_OUT = 8;


const SHAPE: RawProgram['uniforms'] = [
  { name: 'rows', type: 'i32' },
  { name: 'k', type: 'i32' },
  { name: 'o', type: 'i32' },
];

const FORWARD: RawProgram = {
  key: 'mmctrNarrowLinear',
  bindings: [
    { name: 'x', access: 'read', type: 'f32' },
    { name: 'w', access: 'read', type: 'f32' },
    { name: 'bias', access: 'read', type: 'f32' },
    { name: 'y', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  body: `${FLAT_MAIN}
  if (idx >= u.rows * u.o) { return; }
  let r = idx / u.o;
  let j = idx - r * u.o;
  var s = 0.0;
  for (var q = 0; q < u.k; q = q + 1) { s = s + x[r * u.k + q] * w[q * u.o + j]; }
  y[idx] = s + bias[j];
}`,
};

/** Work items: dx (rows · k), then dW (k · o), then db (o). */
const BACKWARD: RawProgram = {
  key: 'mmctrNarrowLinearGrad',
  bindings: [
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 'x', access: 'read', type: 'f32' },
    { name: 'w', access: 'read', type: 'f32' },
    { name: 'dx', access: 'read_write', type: 'f32' },
    { name: 'dw', access: 'read_write', type: 'f32' },
    { name: 'db', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  body: `${FLAT_MAIN}
  let nx = u.rows * u.k;
  if (idx < nx) {
    let r = idx / u.k;
    let q = idx - r * u.k;
    var s = 0.0;
    for (var j = 0; j < u.o; j = j + 1) { s = s + dy[r * u.o + j] * w[q * u.o + j]; }
    dx[idx] = s;
    return;
  }
  let e = idx - nx;
  if (e < u.k * u.o) {
    let q = e / u.o;
    let j = e - q * u.o;
    var s = 0.0;
    for (var r = 0; r < u.rows; r = r + 1) { s = s + x[r * u.k + q] * dy[r * u.o + j]; }
    dw[e] = s;
    return;
  }
  let j = e - u.k * u.o;
  if (j >= u.o) { return; }
  var s = 0.0;
  for (var r = 0; r < u.rows; r = r + 1) { s = s + dy[r * u.o + j]; }
  db[j] = s;
}`,
};

const asTensor = (t: ReturnType<typeof allocOnGpu>) => tf.engine().makeTensorFromTensorInfo(t);

/** x [rows, k] · W [k, o] + b [o] → [rows, o] (o ≤ NARROW_LINEAR_MAX_OUT), gradients to x, W and b. Webgpu only. */
export function webGpuNarrowLinear(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  const [rows, k] = x.shape;
  const o = kernel.shape[1];
  if (kernel.shape[0] !== k || bias.shape[0] !== o || o > NARROW_LINEAR_MAX_OUT) {
    throw new MmctrError(`webGpuNarrowLinear: x [${x.shape}], kernel [${kernel.shape}], bias [${bias.shape}] do not fit (output ≤ ${NARROW_LINEAR_MAX_OUT})`);
  }
  const shape = [rows, k, o];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xv, w, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const y = allocOnGpu([rows, o]);
    runRaw(FORWARD, [xv, w, b, y], shape, workgroupGrid(Math.ceil((rows * o) / WG)));
    save([xv, w]);
    return {
      value: asTensor(y),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dx = allocOnGpu([rows, k]);
        const dw = allocOnGpu([k, o]);
        const db = allocOnGpu([o]);
        runRaw(BACKWARD, [dy as tf.Tensor, saved[0], saved[1], dx, dw, db], shape, workgroupGrid(Math.ceil((rows * k + k * o + o) / WG)));
        return [asTensor(dx), asTensor(dw), asTensor(db)];
      },
    };
  });
  return op(x, kernel, bias) as tf.Tensor2D;
}
