/**
 * The gradient of `Concat` on webgpu in one dispatch: a raw WGSL program (raw.ts) writes every input's slice of dy
 * at once, where tfjs-core's gradient `split`s dy into one slice dispatch per input. The models concatenate item
 * fields, context fields and the DNN input (3 + 2 + 3 slices per DIN step → 3 dispatches). Other backends, other
 * dtypes and more inputs than one dispatch binds take the original gradient.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import { type RawBinding, type RawProgram, allocOnGpu, maxStorageBuffers, runRaw, workgroupGrid } from './raw';

export const CONCAT = 'Concat';

const WG = 256;

function program(n: number): RawProgram {
  const bindings: RawBinding[] = [{ name: 'dy', access: 'read', type: 'f32' }];
  const uniforms: RawProgram['uniforms'] = [
    { name: 'outer', type: 'i32' },
    { name: 'row', type: 'i32' },
  ];
  for (let i = 0; i < n; i++) {
    bindings.push({ name: `g${i}`, access: 'read_write', type: 'f32' });
    uniforms.push({ name: `off${i}`, type: 'i32' }, { name: `w${i}`, type: 'i32' });
  }
  let chain = '';
  for (let i = 0; i < n; i++) {
    const cond = i === n - 1 ? '' : `if (c < u.off${i} + u.w${i}) `;
    chain += `${i === 0 ? '' : ' else '}${cond}{ g${i}[o * u.w${i} + c - u.off${i}] = v; }`;
  }
  return {
    key: `mmctrConcatGrad_${n}`,
    bindings,
    uniforms,
    body: `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let idx = i32(wid.x + wid.y * nwg.x) * ${WG} + i32(lid);
  if (idx >= u.outer * u.row) { return; }
  let o = idx / u.row;
  let c = idx - o * u.row;
  let v = dy[idx];
  ${chain}
}`,
  };
}

/** dy → one slice per input along `axis`, in one dispatch; undefined where it does not apply. */
function splitInOne(dy: Tensor, saved: Tensor[], axis: number): Tensor[] | undefined {
  if (tf.getBackend() !== 'webgpu' || dy.dtype !== 'float32') return undefined;
  if (saved.length < 2 || saved.length + 1 > maxStorageBuffers() || saved.some((t) => t.dtype !== 'float32' || t.size === 0)) return undefined;
  const shape = dy.shape;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const widths = saved.map((t) => t.shape.slice(axis).reduce((a, b) => a * b, 1)); // elements per outer index
  const row = widths.reduce((a, b) => a + b, 0);
  if (outer * row !== dy.size) return undefined;
  const outs = saved.map((t) => allocOnGpu([...t.shape]));
  const uni = [outer, row];
  let off = 0;
  for (const w of widths) {
    uni.push(off, w);
    off += w;
  }
  runRaw(program(saved.length), [dy, ...outs], uni, workgroupGrid(Math.ceil(dy.size / WG)));
  return outs.map((o) => tf.engine().makeTensorFromTensorInfo(o));
}

/** tfjs-core's Concat gradient with the one-dispatch split on webgpu (`original` elsewhere). */
export function makeConcatGrad(original: GradConfig): GradConfig {
  return {
    ...original,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const axis = tf.util.parseAxisParam(attrs.axis as number, saved[0].shape)[0];
      const pieces = splitInOne(dy as Tensor, saved, axis);
      if (!pieces) return original.gradFunc(dy, saved, attrs);
      const out: Record<string, () => Tensor> = {};
      pieces.forEach((p, i) => (out[i] = () => p));
      return out;
    },
  };
}
