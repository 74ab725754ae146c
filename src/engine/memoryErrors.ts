/**
 * Turns a backend's out-of-memory failure into a clear MmctrError. The wasm backend's heap is a 32-bit WebAssembly
 * memory (at most 4 GiB, usually less): a batch whose activations do not fit surfaces as a raw `RuntimeError:
 * memory access out of bounds` or `Aborted(OOM)` from inside the wasm module, with a stack that says nothing of
 * the cause. Everything else is returned unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../errors';

export class BackendMemoryError extends MmctrError {}

const OOM_PATTERNS = [/memory access out of bounds/i, /Aborted\(OOM\)/i, /Cannot enlarge memory/i, /out of memory/i, /Array buffer allocation failed/i];

/** True when `err` looks like a backend running out of memory. */
export function isBackendMemoryError(err: unknown): boolean {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return OOM_PATTERNS.some((p) => p.test(text));
}

/**
 * `err` as a BackendMemoryError naming what was running (`what`, e.g. "training step 12 (batch size 8192)") and what
 * to do, when it is an out-of-memory failure; otherwise `err` itself.
 */
export function explainBackendError(err: unknown, what: string): unknown {
  if (!isBackendMemoryError(err) || err instanceof MmctrError) return err;
  const backend = tf.getBackend();
  const cause = err instanceof Error ? err.message : String(err);
  return new BackendMemoryError(
    `${what} ran out of memory on the ${backend} backend (${cause.split('\n')[0]}): ` +
      `use a smaller --batch-size (the wasm heap holds at most 4 GiB; activations grow with batch × history length × hidden units)`,
    { cause: err },
  );
}
