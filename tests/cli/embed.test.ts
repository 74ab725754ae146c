/** `mmctr embed`: flag validation, and a tiny run through commander as the CLI runs it. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureStdout, runCli } from '../helpers/cli';
import { MmctrError } from '../../src/errors';
import { parseEmbedOptions, register } from '../../src/cli/embed';
import { COMMUNITIES_RECIPE, resolveEmbedSpec } from '../../src/features/embed';
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

  it('parses --collaborative, --clusters and --cluster-weight (off by default)', () => {
    const d = parseEmbedOptions({ data: ROOT });
    expect(d.spec.fusion?.collaborative).toBeUndefined();
    expect(d.spec.fusion?.clusters).toBeUndefined();
    const a = parseEmbedOptions({ data: ROOT, fusion: 'concat', collaborative: 'residual', clusters: 'auto' });
    expect(a.spec.fusion).toMatchObject({ mode: 'concat', collaborative: 'residual', clusters: { k: 'auto' } });
    expect(a.spec.fusion?.clusters?.weight).toBeCloseTo(Math.SQRT1_2, 12);
    const n = parseEmbedOptions({ data: ROOT, fusion: 'concat', clusters: '32', clusterWeight: '1' });
    expect(n.spec.fusion?.clusters).toEqual({ k: 32, weight: 1 });
    expect(() => parseEmbedOptions({ data: ROOT, collaborative: 'pca' })).toThrow(/--collaborative pca: expected one of raw, residual/);
    expect(() => parseEmbedOptions({ data: ROOT, fusion: 'concat', clusters: '1' })).toThrow(/--clusters 1: expected an integer ≥ 2/);
    expect(() => parseEmbedOptions({ data: ROOT, fusion: 'concat', clusters: 'many' })).toThrow(/--clusters many/);
    expect(() => parseEmbedOptions({ data: ROOT, clusters: '32' })).toThrow(/--clusters needs --fusion concat/);
    expect(() => parseEmbedOptions({ data: ROOT, fusion: 'concat', clusters: '32', clusterWeight: '0' })).toThrow(/--cluster-weight 0: expected a number > 0/);
    expect(() => parseEmbedOptions({ data: ROOT, clusterWeight: '0.5' })).toThrow(/--cluster-weight, --cluster-method and --topics apply with --clusters/);
    const sig = parseEmbedOptions({ data: ROOT, balance: true, whiten: 'signal', signalDim: '24' });
    expect(sig.spec.content).toMatchObject({ balance: true, whiten: 'signal', signalDim: 24 });
    expect(parseEmbedOptions({ data: ROOT, whiten: 'signal', signalDim: 'auto' }).spec.content?.signalDim).toBeUndefined();
    expect(() => parseEmbedOptions({ data: ROOT, signalDim: '24' })).toThrow(/--signal-dim applies with --whiten signal/);
    const cw = parseEmbedOptions({ data: ROOT, fusion: 'concat', clusters: 'auto', clusterMethod: 'cowatch', topics: '24' });
    expect(cw.spec.fusion?.clusters).toMatchObject({ k: 'auto', method: 'cowatch', topics: 24 });
    expect(() => parseEmbedOptions({ data: ROOT, fusion: 'concat', clusters: 'auto', clusterMethod: 'louvain' })).toThrow(/--cluster-method louvain: expected one of kmeans, cowatch/);
    expect(() => parseEmbedOptions({ data: ROOT, fusion: 'concat', clusters: 'auto', topics: '24' })).toThrow(/--topics applies with --cluster-method cowatch/);
    expect(() => parseEmbedOptions({ data: ROOT, strategy: 'word2vec', collaborative: 'residual' })).toThrow(/apply to --strategy fuse/);
  });

  it('--recipe communities is its flags, and an explicit flag overrides the recipe', () => {
    const recipe = parseEmbedOptions({ data: ROOT, recipe: 'communities' });
    const flags = parseEmbedOptions({
      data: ROOT,
      strategy: 'fuse',
      balance: true,
      whiten: 'signal',
      fusion: 'concat',
      w2vWindow: '20',
      collaborative: 'residual',
      clusters: 'auto',
      clusterMethod: 'cowatch',
      outputScale: 'as-is',
    });
    expect(recipe).toEqual(flags);
    // the library's spec of the recipe (what the notebooks use) resolves to the same settings
    expect(resolveEmbedSpec(recipe.spec)).toEqual(resolveEmbedSpec(COMMUNITIES_RECIPE));
    expect(resolveEmbedSpec(recipe.spec)).not.toEqual(resolveEmbedSpec({}));
    expect(recipe.spec.fusion?.clusters).toMatchObject({ k: 'auto', method: 'cowatch' });
    const over = parseEmbedOptions({ data: ROOT, recipe: 'communities', w2vWindow: '5', clusters: '16' });
    expect(over.spec.word2vec?.window).toBe(5);
    expect(over.spec.fusion?.clusters?.k).toBe(16);
    expect(() => parseEmbedOptions({ data: ROOT, recipe: 'best' })).toThrow(/--recipe best: expected one of communities/);
  });

  it('runs with the cluster flags through commander', async () => {
    const dir = path.join(tmp, 'clusters');
    await run('embed', '--data', ROOT, '--out', dir, '--fusion', 'concat', '--collaborative', 'residual', '--clusters', '16', '--w2v-epochs', '1', '--w2v-threads', '1', '--no-progress', '--backend', 'typescript');
    expect(stdout()).toMatch(/fuse concat \(content 0\.5, collaborative 0\.5, 56 \+ 56 \+ 16 dims\).*least-squares residual.*k=16/);
    expect(stdout()).toMatch(/clusters: k 16 in columns 112\.\.127/);
    const info = await loadItemInfo(dir);
    expect(info.rows).toBe(401);
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
