/**
 * `MmctrDropout` for webgpu: the project's seeded inverted dropout (../dropout.ts) as one WGSL dispatch, with the
 * same hash, so the same seed drops the same elements as on `cpu`/`wasm`/native. Its gradient is the same kernel on
 * dy (registered with the CPU kernels; `registerWebGpuKernels` registers it too when they are not).
 *
 * Why: without it `dropoutIf` falls back to `tf.dropout`, which draws the uniform numbers in JS on the host, uploads
 * them (one element per activation: 268M per step for the baseline's attention MLP at batch 8192) and runs four
 * more kernels (add, floor, div, mul) forward and two backward.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { DROPOUT_KERNEL, checkDropoutAttrs, dropoutKeys, keepThreshold } from '../dropout';
import { WORKGROUP, flatDispatch, flatLayout, type WebGpuBackendLike, type WebGpuProgram } from './program';

export { DROPOUT_KERNEL } from '../dropout';

/** murmur3's finaliser and the element hash of ../dropout.ts, in WGSL (u32 arithmetic wraps like Math.imul). */
export const WGSL_DROPOUT_HASH = `
fn mmctrFmix32(h0 : u32) -> u32 {
  var h = h0;
  h = h ^ (h >> 16u);
  h = h * 0x85ebca6bu;
  h = h ^ (h >> 13u);
  h = h * 0xc2b2ae35u;
  h = h ^ (h >> 16u);
  return h;
}
fn mmctrDropoutHash(i : u32, k1 : u32, k2 : u32) -> u32 {
  return mmctrFmix32(mmctrFmix32(i * 0x9e3779b1u + k1) ^ k2);
}`;

/** The uniforms of a dropout with `rate` and `seed`: k1, k2, threshold (2³²−1 when nothing drops), keep. */
export function dropoutUniforms(rate: number, seed: number): { k1: number; k2: number; threshold: number; all: boolean; keep: number } {
  const [k1, k2] = dropoutKeys(seed);
  const t = keepThreshold(rate);
  return { k1, k2, threshold: Math.min(t, 0xffffffff), all: t > 0xffffffff, keep: Math.fround(1 - rate) };
}

class DropoutProgram implements WebGpuProgram {
  variableNames = ['x'];
  outputShape: number[];
  shaderKey = 'mmctrDropout';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;
  uniforms = 'k1 : u32, k2 : u32, threshold : u32, all : i32, keep : f32,';
  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = flatLayout(shape);
    this.dispatch = flatDispatch(shape.reduce((a, b) => a * b, 1));
  }
  getUserCode(): string {
    return `
      ${WGSL_DROPOUT_HASH}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let kept = uniforms.all != 0 || mmctrDropoutHash(u32(index), uniforms.k1, uniforms.k2) < uniforms.threshold;
          setOutputAtIndex(index, select(0.0, x[index] / uniforms.keep, kept));
        }
      }`;
  }
}

export function makeWebGpuDropout(): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const { rate, seed } = checkDropoutAttrs(args.attrs ?? {});
    const u = dropoutUniforms(rate, seed);
    const backend = args.backend as WebGpuBackendLike;
    return backend.runWebGPUProgram(new DropoutProgram(x.shape), [x], 'float32', [
      { type: 'uint32', data: [u.k1] },
      { type: 'uint32', data: [u.k2] },
      { type: 'uint32', data: [u.threshold] },
      { type: 'int32', data: [u.all ? 1 : 0] },
      { type: 'float32', data: [u.keep] },
    ]);
  };
  return { kernelName: DROPOUT_KERNEL, backendName: 'webgpu', kernelFunc };
}
