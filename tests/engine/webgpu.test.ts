/**
 * The `webgpu` backend against `cpu`, on the real WGSL kernels: every model of the zoo, forward (logits) and
 * backward (the gradient of the loss for every trainable variable), relative error ≤ 1e-4; the project's webgpu
 * kernels against tfjs's originals; and `MMCTR_BACKEND=webgpu` selection and its report.
 *
 * On a machine without a GPU this runs on Mesa's lavapipe (environment/mesa.sh): slow, so the shapes are tiny. The
 * tests are skipped only when no adapter is found, and the skip says why.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/backend';
import { hasSystemVulkanLoader, probeWebGpu, webGpuErrors } from '../../src/engine/webgpu';
import { MODEL_NAMES, createModel, type CtrModel, type ModelName } from '../../src/models';
import { TINY_ARGS } from '../models/tinyArgs';
import { disposeInputs, inputsOf, makeRows, tinyItemTable } from '../models/synthetic';
import { maxRelError, onBackend } from './webgpuHelpers';

const probe = await probeWebGpu();
const skipReason = probe.adapter ? '' : `no WebGPU adapter: ${probe.reason}`;
if (skipReason) console.warn(`[webgpu tests skipped] ${skipReason}`);

/** Worst normwise relative error allowed between webgpu and cpu (the bar). */
const TOL = 1e-4;

interface Pass {
  logits: Float32Array;
  loss: number;
  grads: Map<string, Float32Array>;
}

/** Logits (training mode) and the gradient of the mean BCE for every trainable variable, on the active backend. */
async function forwardBackward(model: CtrModel, rowsSeed: string): Promise<Pass> {
  const rows = makeRows(12, 'inHistory', rowsSeed);
  const x = inputsOf(rows);
  const named = [...model.namedWeights()].filter(([, v]) => v.trainable);
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.call(x, true);
    return tf.losses.sigmoidCrossEntropy(tf.tensor1d(rows.label), logits) as tf.Scalar;
  }, named.map(([, v]) => v));
  const logits = model.call(x, true);
  const out: Pass = {
    logits: (await logits.data()) as Float32Array,
    loss: (await value.data())[0],
    grads: new Map(),
  };
  for (const [name, v] of named) out.grads.set(name, (await grads[v.name].data()) as Float32Array);
  tf.dispose([value, logits, ...Object.values(grads)]);
  disposeInputs(x);
  return out;
}

/** The model on `backend` with the weights of `from` (copied by name), so both backends start identical. */
function modelOn(name: ModelName, from?: Map<string, Float32Array>): CtrModel {
  const model = createModel(name, TINY_ARGS[name], tinyItemTable(), { seed: 3 });
  if (from) for (const [key, v] of model.namedWeights()) v.assign(tf.tensor(from.get(key)!, v.shape, v.dtype));
  return model;
}

describe.skipIf(!!skipReason)('webgpu backend (lavapipe or a GPU)', () => {
  beforeAll(async () => {
    await selectBackend({ quiet: true, force: 'webgpu' });
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
    expect(webGpuErrors(), 'uncaptured WebGPU errors').toEqual([]);
  });

  it('MMCTR_BACKEND=webgpu selects it and names the adapter', async () => {
    const info = await selectBackend({ quiet: true, env: { MMCTR_BACKEND: 'webgpu' } });
    expect(info.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.adapter?.description || info.adapter?.device).toBeTruthy();
    expect(info.line).toContain(info.device);
    expect(info.kernels).toContain('webgpu/UnsortedSegmentSum');
  });

  it.each(MODEL_NAMES.map((n) => [n]))('%s: forward and backward match cpu (rel. error ≤ 1e-4)', async (name) => {
    await tf.setBackend('cpu');
    const ref = modelOn(name);
    const weights = new Map([...ref.namedWeights()].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
    const want = await forwardBackward(ref, name);
    ref.dispose();

    const got = await onBackend('webgpu', async () => {
      const m = modelOn(name, weights);
      const r = await forwardBackward(m, name);
      m.dispose();
      return r;
    });
    expect(maxRelError(got.logits, want.logits)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss)).toBeLessThanOrEqual(TOL);
    expect([...got.grads.keys()]).toEqual([...want.grads.keys()]);
    // A gradient that is zero up to rounding (a bias followed by batch norm) has no meaningful relative error: its
    // scale is floored at 1e-3 of the model's largest gradient entry.
    const floor = 1e-3 * Math.max(...[...want.grads.values()].map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    const errors = [...want.grads].map(([k, g]) => [k, maxRelError(got.grads.get(k)!, g, floor)] as const);
    const worst = errors.reduce((a, b) => (b[1] > a[1] ? b : a));
    expect(worst[1], `worst gradient: ${worst[0]}`).toBeLessThanOrEqual(TOL);
  });
});

describe.skipIf(hasSystemVulkanLoader())('forcing webgpu where there is no adapter', () => {
  it('is an MmctrError that says what was tried (package, loader, driver, variables)', () => {
    const root = path.resolve(__dirname, '../..');
    const r = spawnSync(process.execPath, [path.join(root, 'bin/mmctr.mjs'), 'backend', '--force', 'webgpu'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, MMCTR_MESA_DIR: '/nonexistent', VK_DRIVER_FILES: '', VK_ICD_FILENAMES: '', VK_ADD_DRIVER_FILES: '' },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("backend 'webgpu' was forced (by --force) but cannot start");
    expect(r.stderr).toContain("Dawn (npm 'webgpu') needs Vulkan: no Vulkan loader (libvulkan.so.1)");
    expect(r.stderr).toContain('no project lavapipe in MMCTR_MESA_DIR=/nonexistent (run: bash environment/mesa.sh)');
    expect(r.stderr).toContain('VK_DRIVER_FILES, VK_ICD_FILENAMES, VK_ADD_DRIVER_FILES unset');
  });
});
