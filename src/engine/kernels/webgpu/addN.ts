/**
 * `AddN` for webgpu in groups of at most `MAX_ADDN_INPUTS` inputs.
 *
 * Why: tfjs-backend-webgpu binds every input as a storage buffer of one program, and WebGPU's default limit is 8
 * storage buffers per shader stage (the output included). Summing more (Adam's global norm over all variables:
 * `addN` of ~20 squared sums) failed pipeline validation, and the invalid command buffer took the other dispatches
 * submitted with it along (silently wrong results). Partial sums of ≤ 7, then the sum of the partials.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WebGpuBackendLike } from './program';

export const ADD_N = 'AddN';

/** Inputs per program: 8 storage buffers per stage (WebGPU's default limit) minus the output. */
export const MAX_ADDN_INPUTS = 7;

export function makeAddN(original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const inputs = args.inputs as unknown as TensorInfo[];
    if (inputs.length <= MAX_ADDN_INPUTS) return original.kernelFunc(args);
    const backend = args.backend as WebGpuBackendLike;
    const partials: TensorInfo[] = [];
    for (let i = 0; i < inputs.length; i += MAX_ADDN_INPUTS) {
      const group = inputs.slice(i, i + MAX_ADDN_INPUTS);
      if (group.length === 1) {
        backend.incRef(group[0].dataId);
        partials.push(group[0]);
      } else {
        partials.push(original.kernelFunc({ ...args, inputs: group as unknown as typeof args.inputs }) as TensorInfo);
      }
    }
    const out = kernelFunc({ ...args, inputs: partials as unknown as typeof args.inputs }) as TensorInfo;
    for (const p of partials) backend.disposeData(p.dataId);
    return out;
  };
  return { ...original, kernelFunc };
}
