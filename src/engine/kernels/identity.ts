/**
 * `Identity` on `wasm` shares the input's data instead of copying it, as the JS `cpu` backend's kernel does.
 *
 * Why: the engine clones (Identity) every tensor it saves for the backward pass; wasm copied each one, e.g. the
 * [1024, 50, 256] attention input (52 MB) every step. tfjs tensors are immutable (kernels always write new
 * outputs, `Variable.assign` swaps data ids), so a reference-counted share is safe, as `Reshape` already does.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { isNumeric, wrapKernel, type KernelImpl } from './storage';

export const IDENTITY = 'Identity';

export const identityImpl: KernelImpl = (args, store) => {
  const x = args.inputs.x as TensorInfo;
  return isNumeric(x.dtype) ? store.share(x, x.shape) : null;
};

export const makeWasmIdentity = (original: KernelConfig | undefined) =>
  wrapKernel(IDENTITY, 'wasm', identityImpl, original);
