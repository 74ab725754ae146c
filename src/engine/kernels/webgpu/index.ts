/**
 * The project's kernels for the `webgpu` backend (tfjs-backend-webgpu 4.22), installed by `registerWebGpuKernels()`
 * when the backend starts (backend.ts; idempotent); `unregisterWebGpuKernels()` restores tfjs's originals.
 *
 * | kernel | why |
 * |---|---|
 * | UnsortedSegmentSum | gradient of `gather`: 2 dispatches instead of 4, no table-sized transposes |
 * | Cast | int32/bool → float32 shared the int buffer; some programs then fail validation (wrong results) |
 * | Transpose | permutations that move no data share the buffer (2 per embedding lookup's gradient) |
 * | AddN | more than 7 inputs exceeded the 8 storage buffers per stage: invalid pipeline (Adam's global norm) |
 * | grad/Mean | tfjs-core's uploads a host-built `ones` of x's size at every step |
 * | grad/Concat | tfjs-core's splits dy into one slice dispatch per input; here one dispatch (webgpu only; else the original) |
 * | MmctrDropout | `dropoutIf` otherwise runs `tf.dropout`: host-drawn randoms uploaded + 4 kernels (+ its gradient if absent) |
 *
 * The CPU backends' list (../index.ts) has more: their BatchMatMul, Gather, Tile, Slice, Sum overrides fix CPU
 * speed problems that webgpu does not share, and the backend-neutral gradients (BatchMatMul, Tile, comparisons)
 * installed there apply to webgpu too.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelConfig } from '@tensorflow/tfjs';
import { ADD_N, makeAddN } from './addN';
import { CAST, makeCast } from './cast';
import { CONCAT, makeConcatGrad } from './concatGrad';
import { dropoutGradConfig } from '../dropout';
import { DROPOUT_KERNEL, makeWebGpuDropout } from './dropout';
import { MEAN, meanGradConfig } from './meanGrad';
import { TRANSPOSE, makeTranspose } from './transpose';
import { UNSORTED_SEGMENT_SUM, makeUnsortedSegmentSum } from './unsortedSegmentSum';

export { meanGradConfig } from './meanGrad';

const BACKEND = 'webgpu';

/** Kernel name → factory from tfjs's original (undefined: keep the original). */
const KERNELS: [string, (original: KernelConfig | undefined) => KernelConfig | undefined][] = [
  [UNSORTED_SEGMENT_SUM, (o) => makeUnsortedSegmentSum(o)],
  [CAST, (o) => (o ? makeCast(o) : undefined)],
  [TRANSPOSE, (o) => (o ? makeTranspose(o) : undefined)],
  [ADD_N, (o) => (o ? makeAddN(o) : undefined)],
  [DROPOUT_KERNEL, () => makeWebGpuDropout()],
];
const GRADS: GradConfig[] = [meanGradConfig];
/** Gradients wrapping the registered one (they fall back to it off webgpu). */
const GRAD_WRAPPERS: [string, (original: GradConfig) => GradConfig][] = [[CONCAT, makeConcatGrad]];
/** Gradients registered only when nobody has (the CPU kernel set registers the same config). */
const GRADS_IF_ABSENT: GradConfig[] = [dropoutGradConfig];

const savedKernels = new Map<string, KernelConfig | undefined>();
const savedGrads = new Map<string, GradConfig | undefined>();

/** Installs the table above (kernels for 'webgpu'; tfjs-backend-webgpu must be loaded). Idempotent. */
export function registerWebGpuKernels(): void {
  for (const [name, make] of KERNELS) {
    if (savedKernels.has(name)) continue;
    const original = tf.getKernel(name, BACKEND);
    const config = make(original);
    if (!config) continue;
    savedKernels.set(name, original);
    if (original) tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({ ...config, kernelName: name, backendName: BACKEND });
  }
  for (const grad of GRADS) {
    if (savedGrads.has(grad.kernelName)) continue;
    const original = tf.getGradient(grad.kernelName);
    savedGrads.set(grad.kernelName, original);
    if (original) tf.unregisterGradient(grad.kernelName);
    tf.registerGradient(grad);
  }
  for (const [name, wrap] of GRAD_WRAPPERS) {
    const original = tf.getGradient(name);
    if (savedGrads.has(name) || !original) continue;
    savedGrads.set(name, original);
    tf.unregisterGradient(name);
    tf.registerGradient(wrap(original));
  }
  for (const grad of GRADS_IF_ABSENT) {
    if (savedGrads.has(grad.kernelName) || tf.getGradient(grad.kernelName)) continue;
    savedGrads.set(grad.kernelName, undefined);
    tf.registerGradient(grad);
  }
}

/** Puts tfjs's kernels and gradients back. */
export function unregisterWebGpuKernels(): void {
  for (const [name, original] of savedKernels) {
    tf.unregisterKernel(name, BACKEND);
    if (original) tf.registerKernel(original);
  }
  savedKernels.clear();
  for (const [name, original] of savedGrads) {
    tf.unregisterGradient(name);
    if (original) tf.registerGradient(original);
  }
  savedGrads.clear();
}

/** `webgpu/UnsortedSegmentSum`, …, `grad/Mean`. */
export function installedWebGpuKernels(): string[] {
  return [...[...savedKernels.keys()].map((k) => `${BACKEND}/${k}`), ...[...savedGrads.keys()].map((k) => `grad/${k}`)];
}
