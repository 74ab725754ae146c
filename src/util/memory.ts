/**
 * Giving native memory back between large steps.
 *
 * nodejs-polars frees a DataFrame's native buffers in a N-API finaliser, which runs only after a garbage collection
 * *and* a turn of the event loop. A synchronous loop that builds and drops 600 MB frames therefore keeps every one
 * of them alive (measured: 8 chunks of 500k × 100 Int64 → 4.8 GB RSS; with `releaseMemory()` between them,
 * 0.7 GB). Call it after dropping the last reference to a big frame or typed array.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gcFn: (() => void) | null | undefined;

function getGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return (gcFn = g);
  try {
    // Exposes `gc` in a fresh context without needing `node --expose-gc`.
    v8.setFlagsFromString('--expose-gc');
    const f = vm.runInNewContext('gc') as unknown;
    gcFn = typeof f === 'function' ? (f as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** A full garbage collection, then one event-loop turn so that native finalisers run (twice, for chains). */
export async function releaseMemory(): Promise<void> {
  const gc = getGc();
  for (let i = 0; i < 2; i++) {
    gc?.();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Resident set size of this process in MiB. */
export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** Peak resident set size of this process so far in MiB (includes native allocations). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
