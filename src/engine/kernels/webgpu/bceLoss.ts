/**
 * Mean binary cross-entropy on logits for webgpu as one custom op: `tf.losses.sigmoidCrossEntropy(labels, logits)`
 * (no weights, no smoothing: the mean over all elements of max(x, 0) − x·z + log(1 + e^−|x|)) in one dispatch
 * forward (a single workgroup reduces the batch) and one backward (dx = dy·(σ(x) − z)/n, the composite's gradient
 * in closed form), instead of ~10 tfjs kernels forward and ~12 backward. Gradient to the logits only (labels are
 * data). Not yet used by src/train/step.ts (its owner wires it: a webgpu branch calling this).
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { type RawProgram, allocOnGpu, runRaw, workgroupGrid } from './raw';

const WG = 256;

const FORWARD: RawProgram = {
  key: 'mmctrBceMean',
  bindings: [
    { name: 'z', access: 'read', type: 'f32' },
    { name: 'x', access: 'read', type: 'f32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: [{ name: 'n', type: 'i32' }],
  body: `
var<workgroup> acc : array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid : u32) {
  var s = 0.0;
  for (var i = i32(lid); i < u.n; i = i + ${WG}) {
    let v = x[i];
    s = s + (max(v, 0.0) - v * z[i] + log(1.0 + exp(-abs(v))));
  }
  acc[lid] = s;
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o = o >> 1u) {
    if (lid < o) { acc[lid] = acc[lid] + acc[lid + o]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = acc[0] / f32(u.n); }
}`,
};

const BACKWARD: RawProgram = {
  key: 'mmctrBceMeanGrad',
  bindings: [
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 'z', access: 'read', type: 'f32' },
    { name: 'x', access: 'read', type: 'f32' },
    { name: 'dx', access: 'read_write', type: 'f32' },
  ],
  uniforms: [{ name: 'n', type: 'i32' }],
  body: `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let i = i32(wid.x + wid.y * nwg.x) * ${WG} + i32(lid);
  if (i >= u.n) { return; }
  dx[i] = dy[0] * (1.0 / (1.0 + exp(-x[i])) - z[i]) / f32(u.n);
}`,
};

/** Mean sigmoid cross-entropy of `logits` against `labels` (same shape, float32): a scalar; webgpu only. */
export function webGpuSigmoidCrossEntropy(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`webGpuSigmoidCrossEntropy: the active backend is '${tf.getBackend()}', not webgpu`);
  if (labels.size !== logits.size || labels.dtype !== 'float32' || logits.dtype !== 'float32') {
    throw new MmctrError(`webGpuSigmoidCrossEntropy: labels ${labels.dtype}[${labels.shape}] and logits ${logits.dtype}[${logits.shape}] must be float32 of one size`);
  }
  const n = logits.size;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const out = allocOnGpu([]);
    runRaw(FORWARD, [labels, x, out], [n], [1, 1, 1]);
    save([labels, x]);
    return {
      value: tf.engine().makeTensorFromTensorInfo(out) as tf.Scalar,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dx = allocOnGpu([...logits.shape]);
        runRaw(BACKWARD, [dy as tf.Tensor, saved[0], saved[1], dx], [n], workgroupGrid(Math.ceil(n / WG)));
        return [tf.engine().makeTensorFromTensorInfo(dx)];
      },
    };
  });
  return op(logits) as tf.Scalar;
}
