/** `mmctr embed`: flag validation, and a tiny run through commander as the CLI runs it. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureStdout, runCli } from '../helpers/cli';
import { MmctrError } from '../../src/errors';
import { parseEmbedOptions, register } from '../../src/cli/embed';
import { loadItemInfo } from '../../src/data/load';

const ROOT = path.resolve(__dirname, '../../data/tiny');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mmctr-cli-embed-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const stdout = captureStdout();

const run = (...argv: string[]) => runCli([register], argv);

describe('mmctr embed', () => {
  it('parses and validates flags once', () => {
    const o = parseEmbedOptions({ data: ROOT });
    expect(o.outDir).toBe(path.join(ROOT, 'embeddings', 'fuse'));
    expect(o.spec.strategy).toBe('fuse');
    expect(o.backend).toBe('auto');
    expect(o.validate).toBe(true);
    const p = parseEmbedOptions({
      data: ROOT,
      strategy: 'per-modality-pca',
      modalities: 'text,image,title',
      perModalityDims: '48,48,32',
      whiten: 'after',
      w2vEpochs: '3',
      backend: 'typescript',
    });
    expect(p.spec.modalities).toEqual(['text', 'image', 'title']);
    expect(p.spec.content?.perModalityDims).toEqual([48, 48, 32]);
    expect(p.spec.content?.whiten).toBe('after');
    expect(p.spec.word2vec?.epochs).toBe(3);
    const f = parseEmbedOptions({ data: ROOT, fusion: 'concat-pca', contentWeight: '0.7', content: 'per-modality-pca' });
    expect(f.spec.fusion).toMatchObject({ mode: 'concat-pca', contentWeight: 0.7 });
    expect(f.spec.fusion?.collaborativeWeight).toBeCloseTo(0.3, 12);
    expect(() => parseEmbedOptions({})).toThrow(/--data <root> is required/);
    expect(() => parseEmbedOptions({ data: ROOT, strategy: 'svd' })).toThrow(/--strategy svd: expected one of concat-pca, per-modality-pca, word2vec, fuse/);
    expect(() => parseEmbedOptions({ data: ROOT, modalities: 'text,audio' })).toThrow(/--modalities audio/);
    expect(() => parseEmbedOptions({ data: ROOT, w2vEpochs: '0' })).toThrow(/--w2v-epochs 0: expected an integer ≥ 1/);
    expect(() => parseEmbedOptions({ data: ROOT, contentWeight: '1.5' })).toThrow(MmctrError);
    expect(() => parseEmbedOptions({ data: ROOT, strategy: 'concat-pca', content: 'per-modality-pca' })).toThrow(/--content applies to --strategy fuse/);
  });

  it('writes item_info.parquet and prints the explained variance', async () => {
    const dir = path.join(tmp, 'pm');
    await run('embed', '--data', ROOT, '--out', dir, '--strategy', 'per-modality-pca', '--no-progress', '--backend', 'typescript');
    expect(stdout()).toMatch(/^item_emb_d128 \(per-modality-pca\): per-modality-pca\(text 64, image 64\)/);
    expect(stdout()).toMatch(/explained variance: text 768 → 64: keeps \d+\.\d% of the variance/);
    expect(stdout()).toMatch(/explained variance: image 1024 → 64/);
    const info = await loadItemInfo(dir);
    expect(info.rows).toBe(401);
  });
});
