/**
 * One way for the project's kernels to reach tensor data on both CPU backends, and the wrapper that turns a kernel
 * implementation into a tfjs `KernelConfig` falling back to the backend's original kernel.
 *
 * `cpu` (MathBackendCPU) keeps each tensor as a JS typed array; `wasm` (BackendWasm) keeps it in the wasm heap, and
 * `typedArrayFromHeap` gives a view. A heap view is detached when the heap grows, which any allocation may do: so
 * a kernel allocates all its outputs first, then takes views (`values`) of inputs and outputs.
 */
import {
  util,
  type DataType,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
  type TypedArray,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { MmctrError } from '../../errors';

/** The backends the project's CPU kernels are written for. */
export type CpuBackendName = 'cpu' | 'wasm';

/** Dtypes held in typed arrays on both backends (not string, not complex64). */
export type NumericDType = 'float32' | 'int32' | 'bool';

export function isNumeric(dtype: DataType): dtype is NumericDType {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'bool';
}

export interface Store {
  /** A new, uninitialised output tensor. */
  alloc(shape: number[], dtype: NumericDType): TensorInfo;
  /** The typed array holding `t`'s data (a heap view on wasm: take it after the last `alloc`). */
  values(t: TensorInfo): TypedArray;
  /** A tensor that shares `t`'s data under another shape of the same size (no copy). */
  share(t: TensorInfo, shape: number[]): TensorInfo;
}

/** Minimal view of the JS cpu backend (`MathBackendCPU`) used here. */
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  incRef(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: DataType, values?: TypedArray): TensorInfo;
}

export function storeFor(backendName: CpuBackendName, backend: unknown): Store {
  if (backendName === 'wasm') {
    const b = backend as BackendWasm;
    return {
      alloc: (shape, dtype) => b.makeOutput(shape, dtype),
      values: (t) => b.typedArrayFromHeap(t),
      share: (t, shape) => {
        b.incRef(t.dataId);
        return { dataId: t.dataId, shape, dtype: t.dtype };
      },
    };
  }
  const b = backend as CpuBackendLike;
  return {
    alloc: (shape, dtype) =>
      b.makeTensorInfo(shape, dtype, util.getTypedArrayFromDType(dtype, util.sizeFromShape(shape)) as TypedArray),
    values: (t) => b.data.get(t.dataId).values as TypedArray,
    share: (t, shape) => {
      b.incRef(t.dataId);
      return { dataId: t.dataId, shape, dtype: t.dtype };
    },
  };
}

export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  attrs: NamedAttrMap;
  backend: unknown;
}

/** A kernel body: returns `null` to hand the call to the backend's original kernel (dtypes or cases not covered). */
export type KernelImpl = (args: KernelArgs, store: Store) => TensorInfo | TensorInfo[] | null;

/** Marks kernel functions and gradients installed by the project (see kernels/index.ts). */
export const PROJECT_MARK = Symbol.for('mmctr.projectKernel');

/**
 * Builds the config that runs `impl` on `backendName` and falls back to `original` where `impl` declines. The
 * original's setup/dispose functions are kept, so the config can be registered before or after backend start.
 */
export function wrapKernel(
  kernelName: string,
  backendName: CpuBackendName,
  impl: KernelImpl,
  original: KernelConfig | undefined,
): KernelConfig {
  const kernelFunc = (args: KernelArgs) => {
    const out = impl(args, storeFor(backendName, args.backend));
    if (out !== null) return out;
    if (!original) throw new MmctrError(`${kernelName} on ${backendName}: case not supported and no original kernel`);
    return (original.kernelFunc as unknown as (a: KernelArgs) => TensorInfo | TensorInfo[])(args);
  };
  return {
    kernelName,
    backendName,
    setupFunc: original?.setupFunc,
    disposeFunc: original?.disposeFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}

/** Copies `n` elements from src[srcAt…] to dst[dstAt…]; `set` on subarrays wins from ~16 elements. */
export function copyRun(src: TypedArray, srcAt: number, dst: TypedArray, dstAt: number, n: number): void {
  if (n >= 16) {
    dst.set(src.subarray(srcAt, srcAt + n), dstAt);
  } else {
    for (let j = 0; j < n; j++) dst[dstAt + j] = src[srcAt + j];
  }
}
