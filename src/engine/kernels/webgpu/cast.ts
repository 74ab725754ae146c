/**
 * `Cast` for webgpu: int32/bool → float32 converts.
 *
 * Why: tfjs-backend-webgpu 4.22 casts "without encoding loss" (int32 or bool → float32) by sharing the buffer under
 * the new dtype. Programs declare each input by its buffer's dtype, and some do not convert: `TransposeProgram`
 * (rank ≥ 3, also run inside Sum/Mean/UnsortedSegmentSum) then fails WGSL validation ("setOutputAtIndex expected
 * f32, got i32"), which invalidates the whole command buffer — every dispatch batched with it returns garbage. The
 * models cast their bool padding masks to float32. One conversion dispatch keeps every float32 tensor in an f32 buffer.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { WORKGROUP, flatDispatch, flatLayout, type WebGpuBackendLike, type WebGpuProgram } from './program';

export const CAST = 'Cast';

class ToFloatProgram implements WebGpuProgram {
  variableNames = ['x'];
  outputShape: number[];
  shaderKey = 'mmctrToFloat';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;
  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = flatLayout(shape);
    this.dispatch = flatDispatch(shape.reduce((a, b) => a * b, 1));
  }
  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, f32(x[index]));
        }
      }`;
  }
}

export function makeCast(original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const dtype = args.attrs?.dtype as string;
    if (dtype === 'float32' && (x.dtype === 'int32' || x.dtype === 'bool')) {
      const backend = args.backend as WebGpuBackendLike;
      return backend.runWebGPUProgram(new ToFloatProgram(x.shape), [x], 'float32');
    }
    return original.kernelFunc(args);
  };
  return { ...original, kernelFunc };
}
