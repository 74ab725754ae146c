/**
 * The end of DIN attention (src/models/layers/dinAttention.ts, no softmax) for webgpu as one custom op:
 *   s[r] = (h[r]·w + b) · mask[r]          (the output Linear to 1 unit, masked; r = row·L + position)
 *   pooled[row] = Σ_l s[row·L + l] · H[row, l]
 * Forward 2 dispatches (scores, pooling) instead of matMul, add, mul, matMul; backward 4 (ds and dH; dh = ds·wᵀ;
 * per-chunk column sums of ds·h and ds; their sum into dw and db) instead of ~7. Gradients to h, w, b and H; the
 * mask is data.
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { type RawProgram, allocOnGpu, runRaw, workgroupGrid, FLAT_MAIN } from './raw';

const WG = 256;

const U: RawProgram['uniforms'] = [
  { name: 'b', type: 'i32' },
  { name: 'len', type: 'i32' },
  { name: 'd', type: 'i32' },
  { name: 'units', type: 'i32' },
];

const SCORES: RawProgram = {
  key: 'mmctrAttnScores',
  bindings: [
    { name: 'h', access: 'read', type: 'f32' },
    { name: 'w', access: 'read', type: 'f32' },
    { name: 'bias', access: 'read', type: 'f32' },
    { name: 'mask', access: 'read', type: 'f32' },
    { name: 's', access: 'read_write', type: 'f32' },
  ],
  uniforms: U,
  body: `${FLAT_MAIN}
  if (idx >= u.b * u.len) { return; }
  var acc = 0.0;
  for (var j = 0; j < u.units; j = j + 1) { acc = acc + h[idx * u.units + j] * w[j]; }
  s[idx] = (acc + bias[0]) * mask[idx];
}`,
};

const POOL: RawProgram = {
  key: 'mmctrAttnPool',
  bindings: [
    { name: 's', access: 'read', type: 'f32' },
    { name: 'hist', access: 'read', type: 'f32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: U,
  body: `${FLAT_MAIN}
  if (idx >= u.b * u.d) { return; }
  let bi = idx / u.d;
  let k = idx - bi * u.d;
  var acc = 0.0;
  for (var l = 0; l < u.len; l = l + 1) { let r = bi * u.len + l; acc = acc + s[r] * hist[r * u.d + k]; }
  out[idx] = acc;
}`,
};

/** ds[r] = mask[r]·(dy[row]·H[r]); dH[r] = s[r]·dy[row] (one invocation per r). */
const POOL_GRAD: RawProgram = {
  key: 'mmctrAttnPoolGrad',
  bindings: [
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 's', access: 'read', type: 'f32' },
    { name: 'hist', access: 'read', type: 'f32' },
    { name: 'mask', access: 'read', type: 'f32' },
    { name: 'ds', access: 'read_write', type: 'f32' },
    { name: 'dhist', access: 'read_write', type: 'f32' },
  ],
  uniforms: U,
  body: `${FLAT_MAIN}
  if (idx >= u.b * u.len) { return; }
  let bi = idx / u.len;
  let sv = s[idx];
  var acc = 0.0;
  for (var k = 0; k < u.d; k = k + 1) {
    let g = dy[bi * u.d + k];
    acc = acc + g * hist[idx * u.d + k];
    dhist[idx * u.d + k] = sv * g;
  }
  ds[idx] = acc * mask[idx];
}`,
};

/** dh[r, j] = ds[r]·w[j]. */
const H_GRAD: RawProgram = {
  key: 'mmctrAttnHGrad',
  bindings: [
    { name: 'ds', access: 'read', type: 'f32' },
    { name: 'w', access: 'read', type: 'f32' },
    { name: 'dh', access: 'read_write', type: 'f32' },
  ],
  uniforms: U,
  body: `${FLAT_MAIN}
  if (idx >= u.b * u.len * u.units) { return; }
  let r = idx / u.units;
  dh[idx] = ds[r] * w[idx - r * u.units];
}`,
};

/** partials[c, j] = Σ_{r in chunk c} ds[r]·h[r, j] (j < units), partials[c, units] = Σ ds[r]. */
const W_PARTIALS: RawProgram = {
  key: 'mmctrAttnWPartials',
  bindings: [
    { name: 'ds', access: 'read', type: 'f32' },
    { name: 'h', access: 'read', type: 'f32' },
    { name: 'partials', access: 'read_write', type: 'f32' },
  ],
  uniforms: [...U, { name: 'chunk', type: 'i32' }, { name: 'chunks', type: 'i32' }],
  body: `${FLAT_MAIN}
  let cols = u.units + 1;
  if (idx >= u.chunks * cols) { return; }
  let c = idx / cols;
  let j = idx - c * cols;
  let r1 = min(u.b * u.len, (c + 1) * u.chunk);
  var acc = 0.0;
  for (var r = c * u.chunk; r < r1; r = r + 1) {
    if (j < u.units) { acc = acc + ds[r] * h[r * u.units + j]; } else { acc = acc + ds[r]; }
  }
  partials[idx] = acc;
}`,
};

/** dw[j] = Σ_c partials[c, j], db = Σ_c partials[c, units]. */
const W_SUM: RawProgram = {
  key: 'mmctrAttnWSum',
  bindings: [
    { name: 'partials', access: 'read', type: 'f32' },
    { name: 'dw', access: 'read_write', type: 'f32' },
    { name: 'db', access: 'read_write', type: 'f32' },
  ],
  uniforms: [...U, { name: 'chunk', type: 'i32' }, { name: 'chunks', type: 'i32' }],
  body: `${FLAT_MAIN}
  let cols = u.units + 1;
  if (idx >= cols) { return; }
  var acc = 0.0;
  for (var c = 0; c < u.chunks; c = c + 1) { acc = acc + partials[c * cols + idx]; }
  if (idx < u.units) { dw[idx] = acc; } else { db[0] = acc; }
}`,
};

const grid = (n: number) => workgroupGrid(Math.ceil(n / WG));
const asTensor = (t: ReturnType<typeof allocOnGpu>) => tf.engine().makeTensorFromTensorInfo(t);

/**
 * h [b·L, units], outKernel [units, 1], outBias [1], mask [b, L] (float, 1 = valid), history [b, L, D] →
 * pooled [b, D] (see the file comment). Webgpu only.
 */
export function webGpuAttentionPool(h: tf.Tensor2D, outKernel: tf.Tensor, outBias: tf.Tensor, mask: tf.Tensor, history: tf.Tensor3D): tf.Tensor2D {
  if (tf.getBackend() !== 'webgpu') throw new MmctrError(`webGpuAttentionPool: the active backend is '${tf.getBackend()}', not webgpu`);
  const [b, len, d] = history.shape;
  const units = h.shape[1];
  if (h.shape[0] !== b * len || outKernel.size !== units || outBias.size !== 1 || mask.size !== b * len || mask.dtype !== 'float32') {
    throw new MmctrError(`webGpuAttentionPool: h [${h.shape}], kernel [${outKernel.shape}], bias [${outBias.shape}], mask ${mask.dtype}[${mask.shape}], history [${history.shape}] do not fit`);
  }
  const uni = [b, len, d, units];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [hIn, w, bias, hist] = args as tf.Tensor[];
    const save = args[4] as tf.GradSaveFunc;
    const s = allocOnGpu([b * len]);
    runRaw(SCORES, [hIn, w, bias, mask, s], uni, grid(b * len));
    const out = allocOnGpu([b, d]);
    runRaw(POOL, [s, hist, out], uni, grid(b * d));
    const sT = asTensor(s);
    save([hIn, w, hist, mask, sT]);
    return {
      value: asTensor(out) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [hS, wS, histS, maskS, sS] = saved;
        const ds = allocOnGpu([b * len]);
        const dhist = allocOnGpu([b, len, d]);
        runRaw(POOL_GRAD, [dy as tf.Tensor, sS, histS, maskS, ds, dhist], uni, grid(b * len));
        const dh = allocOnGpu([b * len, units]);
        runRaw(H_GRAD, [ds, wS, dh], uni, grid(b * len * units));
        const rows = b * len;
        const chunk = Math.max(64, Math.ceil(rows / 4096));
        const chunks = Math.ceil(rows / chunk);
        const partials = allocOnGpu([chunks * (units + 1)]);
        runRaw(W_PARTIALS, [ds, hS, partials], [...uni, chunk, chunks], grid(chunks * (units + 1)));
        const dw = allocOnGpu([...outKernel.shape]);
        const db = allocOnGpu([...outBias.shape]);
        runRaw(W_SUM, [partials, dw, db], [...uni, chunk, chunks], grid(units + 1));
        asTensor(partials).dispose();
        asTensor(ds).dispose();
        return [asTensor(dh), asTensor(dw), asTensor(db), asTensor(dhist)];
      },
    };
  });
  return op(h, outKernel, outBias, history) as tf.Tensor2D;
}
