/**
 * What the project's WGSL kernels need of tfjs-backend-webgpu 4.22 (its `WebGPUProgram` contract and the backend's
 * `runWebGPUProgram`), typed structurally so that nothing here imports the package: the CPU-only paths never load it.
 *
 * A program's `getUserCode()` is the body; tfjs adds the header: the output `result` (binding 0; `array<atomic<i32>>`
 * when `atomic`), each input by its `variableNames` entry as a raw `array<f32|i32>`, the `uniforms` struct (shapes,
 * strides, `size` when `size` is set, then the program's own `uniforms` fields), `setOutputAtIndex`, and an entry
 * point calling `main(index)` with the flat invocation index.
 */
import type { DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs';

export interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Declares `uniforms.size` = elements of `outputShape`. */
  size?: boolean;
  /** Extra uniform fields, WGSL struct syntax (`n : i32, inner : i32,`). */
  uniforms?: string;
  /** Output declared `array<atomic<i32>>` (float results through bitcasts). */
  atomic?: boolean;
  getUserCode(): string;
}

export interface ProgramUniform {
  type: 'int32' | 'float32' | 'uint32';
  data: number[];
}

/** The parts of tfjs's WebGPUBackend the kernels call. */
export interface WebGpuBackendLike extends KernelBackend {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: TensorInfo[],
    outputDtype: DataType,
    programUniforms?: ProgramUniform[],
    output?: TensorInfo,
  ): TensorInfo;
  makeTensorInfo(shape: number[], dtype: DataType, values?: unknown): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

export const WORKGROUP = 64;

/** A flat dispatch over `n` invocations (the backend folds more than 65,535 workgroups into y/z itself). */
export function flatDispatch(n: number): [number, number, number] {
  return [Math.max(1, Math.ceil(n / WORKGROUP)), 1, 1];
}

/** `dispatchLayout` of a flat program writing `shape`. */
export function flatLayout(shape: number[]): { x: number[] } {
  return { x: shape.map((_, i) => i) };
}

/** `result[ptr] += v` for a float stored in `array<atomic<i32>>` (WGSL has no float atomics): a CAS loop. */
export function atomicAddF32(ptr: string, v: string): string {
  return `{
    var old = atomicLoad(${ptr});
    loop {
      let res = atomicCompareExchangeWeak(${ptr}, old, bitcast<i32>(bitcast<f32>(old) + (${v})));
      if (res.exchanged) { break; }
      old = res.old_value;
    }
  }`;
}
