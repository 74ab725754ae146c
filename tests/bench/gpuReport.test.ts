import { describe, expect, it } from 'vitest';
import { gpuMachine, gpuNotes, gpuRows } from '../../bench/gpu/report';
import { RECORD_KIND, type GpuBenchRecord, parseRecords, stepFigures } from '../../bench/gpu/record';

const machine = { date: '2026-11-23T00:00:00.000Z', cpu: 'Xeon', cores: 16, memoryGiB: 128, node: 'v20.20.2', platform: 'linux x64' };

function rec(side: 'tfjs' | 'torch', model: string, batch: number, samplesPerSec: number | null, extra: Partial<GpuBenchRecord> = {}): GpuBenchRecord {
  const ok = samplesPerSec !== null;
  return {
    kind: RECORD_KIND,
    side,
    model,
    preset: model === 'din' ? 'dinBaseline' : 'dcnDinBase',
    batch,
    seqLen: 64,
    ok,
    backend: side === 'tfjs' ? 'webgpu' : 'cuda',
    device: side === 'tfjs' ? 'nvidia-h100 (nvidia, hopper)' : 'NVIDIA H100 80GB HBM3',
    ...(ok ? { samplesPerSec, medianStepMs: (batch * 1000) / samplesPerSec, steps: 10 } : { error: 'out of memory' }),
    machine: { ...machine, gpu: side === 'torch' ? 'NVIDIA H100 80GB HBM3' : undefined },
    ...extra,
  };
}

describe('GPU benchmark report', () => {
  it('pairs the two sides per model and batch, with their ratio, DIN first and batches ascending', () => {
    const rows = gpuRows([
      rec('tfjs', 'dcnDin', 8192, 100),
      rec('tfjs', 'din', 8192, 300_000, { dispatchesPerStep: 412.5, submitsPerStep: 20 }),
      rec('torch', 'din', 8192, 1_000_000),
      rec('tfjs', 'din', 1024, 20_000),
      rec('torch', 'dcnDin', 8192, null),
    ]);
    expect(rows.map((r) => `${r.model}/${r.batch}`)).toEqual(['din/1024', 'din/8192', 'dcnDin/8192']);
    const din = rows[1];
    expect(din['tfjs samples/s']).toBe(300000);
    expect(din['torch samples/s']).toBe(1000000);
    expect(din['tfjs / torch']).toBe(0.3);
    expect(din['dispatches/step']).toBe(413);
    expect(din.status).toBe('ok');
    expect(rows[0]['tfjs / torch']).toBe('');
    expect(rows[0].status).toBe('torch not run');
    expect(rows[2].status).toBe('torch failed: out of memory');
    expect(rows[2]['torch samples/s']).toBe('');
  });

  it('states the goal as met or not, and flags sides that did not run on a GPU', () => {
    const met = gpuRows([rec('tfjs', 'din', 8192, 600), rec('torch', 'din', 8192, 1000)]);
    expect(gpuNotes([], met)[0]).toMatch(/0\.6× — met/);
    const missed = [rec('tfjs', 'din', 8192, 100, { backend: 'wasm', device: 'SIMD on' }), rec('torch', 'din', 8192, 1000, { backend: 'cpu' })];
    const notes = gpuNotes(missed, gpuRows(missed));
    expect(notes[0]).toMatch(/0\.1× — not met/);
    expect(notes[1]).toMatch(/Not a GPU comparison for: tfjs on wasm \(SIMD on\); torch on cpu/);
    expect(gpuNotes([], gpuRows([rec('tfjs', 'din', 1024, 5)]))[0]).toMatch(/not measured/);
  });

  it('warns when the two sides train different numbers of parameters', () => {
    const same = [rec('tfjs', 'din', 8192, 1, { params: 8611842 }), rec('torch', 'din', 8192, 1, { params: 8611842 })];
    expect(gpuNotes(same, gpuRows(same)).some((n) => n.startsWith('WARNING'))).toBe(false);
    const drift = [rec('tfjs', 'din', 8192, 1, { params: 8611842 }), rec('torch', 'din', 8192, 1, { params: 8611843 })];
    expect(gpuNotes(drift, gpuRows(drift)).find((n) => n.startsWith('WARNING'))).toMatch(/8611842 trainable parameters in tfjs but 8611843/);
  });

  it('stamps the results with the GPU machine the records came from', () => {
    const m = gpuMachine([rec('tfjs', 'din', 8192, 1), rec('torch', 'din', 8192, 1)]);
    expect(m.cpu).toBe('NVIDIA H100 80GB HBM3 GPU, Xeon');
    expect(m.cores).toBe(16);
    expect(m.date).toBe(machine.date);
  });

  it('reads records among other output lines and derives throughput from the timed steps', () => {
    const text = ['backend: webgpu', JSON.stringify(rec('tfjs', 'din', 64, 10)), '{"kind":"other"}', '{broken', ''].join('\n');
    expect(parseRecords(text)).toHaveLength(1);
    const f = stepFigures(1000, [100, 300, 200], 500);
    expect(f).toMatchObject({ steps: 3, medianStepMs: 200, totalMs: 500, samplesPerSec: 6000 });
  });
});
