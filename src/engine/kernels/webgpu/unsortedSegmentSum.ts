/**
 * `UnsortedSegmentSum` for webgpu: the gradient of `gather` (every embedding lookup) as one zero-fill and one
 * scatter-add dispatch writing the [numSegments, ...inner] result in place.
 *
 * Why: tfjs-backend-webgpu's kernel works on the transposed problem: it transposes x to [inner, ids], fills an
 * [inner, numSegments] buffer, scatters, and transposes the table-sized result back — four dispatches, two of them
 * over the whole embedding table, plus reshapes. Here: 2 dispatches, no transposes.
 *
 * Semantics as the CPU kernels (../unsortedSegmentSum.ts): `segmentIds` has the shape of a prefix of `x.shape`;
 * out[s, ...inner] = Σ x[i, ...inner] over the positions i with id s; ids outside [0, numSegments) are dropped.
 * float32 sums use a compare-exchange loop (WGSL has integer atomics only): the order of additions, and so the last
 * bits, vary from run to run when ids repeat.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { WORKGROUP, atomicAddF32, flatDispatch, flatLayout, type WebGpuBackendLike, type WebGpuProgram } from './program';

export const UNSORTED_SEGMENT_SUM = 'UnsortedSegmentSum';

/** out[numSegments × inner] = 0. */
class ZeroProgram implements WebGpuProgram {
  variableNames: string[] = [];
  outputShape: number[];
  shaderKey = 'mmctrZero';
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
          setOutputAtIndex(index, 0);
        }
      }`;
  }
}

/** One invocation per element of x [numIds × inner]: result[id · inner + j] += x[i · inner + j]. */
class ScatterAddProgram implements WebGpuProgram {
  variableNames = ['x', 'ids'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms = 'numSegments : i32, inner : i32, xSize : i32,';
  atomic = true;
  constructor(
    outShape: number[],
    xSize: number,
    private readonly dtype: 'float32' | 'int32',
  ) {
    this.outputShape = outShape;
    this.dispatchLayout = flatLayout(outShape);
    this.dispatch = flatDispatch(xSize);
    this.shaderKey = `mmctrScatterAdd_${dtype}`;
  }
  getUserCode(): string {
    const add =
      this.dtype === 'int32' ? 'atomicAdd(&result[at], x[index]);' : atomicAddF32('&result[at]', 'x[index]');
    return `
      fn main(index : i32) {
        if (index < uniforms.xSize) {
          let row = index / uniforms.inner;
          let id = i32(ids[row]);
          if (id >= 0 && id < uniforms.numSegments) {
            let at = id * uniforms.inner + (index - row * uniforms.inner);
            ${add}
          }
        }
      }`;
  }
}

export function makeUnsortedSegmentSum(original: KernelConfig | undefined): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const segmentIds = args.inputs.segmentIds as TensorInfo;
    const numSegments = args.attrs?.numSegments as number;
    const backend = args.backend as WebGpuBackendLike;
    const idRank = segmentIds.shape.length;
    if (idRank > x.shape.length || segmentIds.shape.some((d, i) => d !== x.shape[i])) {
      throw new MmctrError(`unsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
    }
    if (!Number.isInteger(numSegments) || numSegments < 0) {
      throw new MmctrError(`unsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`);
    }
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || (segmentIds.dtype !== 'int32' && segmentIds.dtype !== 'float32')) {
      if (original) return original.kernelFunc(args);
      throw new MmctrError(`unsortedSegmentSum: unsupported dtypes x ${x.dtype}, segmentIds ${segmentIds.dtype}`);
    }
    const inner = x.shape.slice(idRank).reduce((a, b) => a * b, 1);
    const xSize = x.shape.reduce((a, b) => a * b, 1);
    const outShape = [numSegments, ...x.shape.slice(idRank)];
    const dtype = x.dtype;
    const out = backend.runWebGPUProgram(new ZeroProgram(outShape), [], dtype);
    if (xSize === 0 || numSegments === 0 || inner === 0) return out;
    return backend.runWebGPUProgram(
      new ScatterAddProgram(outShape, xSize, dtype),
      [x, segmentIds],
      dtype,
      [
        { type: 'int32', data: [numSegments] },
        { type: 'int32', data: [inner] },
        { type: 'int32', data: [xSize] },
      ],
      out,
    );
  };
  return { kernelName: UNSORTED_SEGMENT_SUM, backendName: 'webgpu', kernelFunc };
}
