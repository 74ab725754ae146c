/**
 * `embed` end to end on the committed tiny synthetic data: the item_info it writes is the challenge layout (loads
 * with the project's own loader, row index = item_id, zero padding row, the generator's tags), and its vectors
 * recover the planted ground truth (topics from content, communities from item_seq) far above chance.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadItemInfo } from '../../src/data/load';
import {
  ITEM_INFO_PATH,
  buildContentTable,
  chanceLabelPrecision,
  computeEmbedding,
  embed,
  itemInfoTags,
  labelPrecision,
  loadEmbedInputs,
  resolveEmbedSpec,
  topNeighbours,
  type EmbedInputs,
  type EmbedSpec,
} from '../../src/features';
import { setProgressEnabled } from '../../src/util/progress';
import { readItemTruth, type ItemTruthColumns } from '../../src/data/synth/itemTruthFile';

const ROOT = path.resolve(__dirname, '../../data/tiny');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mmctr-embed-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let inputs: EmbedInputs;
let truth: ItemTruthColumns;
const all = Int32Array.from({ length: 400 }, (_, i) => i + 1);

beforeAll(async () => {
  setProgressEnabled(false);
  inputs = await loadEmbedInputs(ROOT);
  truth = readItemTruth(ROOT);
});

function precision(vectors: Float32Array, labels: Int32Array): number {
  return labelPrecision(topNeighbours(vectors, 128, all, { k: 10 }), all, 10, labels);
}

describe('embed on data/tiny', () => {
  it('writes item_info.parquet in the challenge layout and embed.json', async () => {
    const out = path.join(tmp, 'fuse');
    const report = await embed({ dataRoot: ROOT, outDir: out, spec: { strategy: 'fuse', word2vec: { threads: 1 } }, progress: false });
    expect(report.file).toBe(path.join(out, ITEM_INFO_PATH));
    const info = await loadItemInfo(out);
    const orig = await loadItemInfo(ROOT);
    expect(info.rows).toBe(401);
    expect(info.itemEmb.cols).toBe(128);
    expect(Array.from(info.itemEmb.data.subarray(0, 128)).every((v) => v === 0)).toBe(true);
    expect(Array.from(info.itemTags.data)).toEqual(Array.from(orig.itemTags.data));
    // The default output scale: one factor, mean squared coordinate 1 over the items.
    let ss = 0;
    for (let i = 128; i < info.itemEmb.data.length; i++) ss += info.itemEmb.data[i] ** 2;
    expect(ss / (400 * 128)).toBeCloseTo(1, 4);
    const saved = JSON.parse(readFileSync(path.join(out, 'embed.json'), 'utf8'));
    expect(saved.spec.strategy).toBe('fuse');
    expect(saved.explained.map((e: { name: string }) => e.name)).toEqual(['text+image', 'content+collaborative']);
    expect(saved.explained[0].ratio).toHaveLength(128);
    expect(saved.word2vec.vocabulary).toBeGreaterThan(300);
    expect(report.description).toMatch(/^fuse concat-pca \(content 0\.5, collaborative 0\.5\) of concat-pca\(text\+image → 128\) and word2vec.* × [\d.]+ \(unit RMS\)$/);
    // Weighted fusion with the strategy's own scale gives unit rows.
    const w = await computeEmbedding(inputs, { strategy: 'fuse', fusion: { mode: 'weighted' }, outputScale: 'as-is', word2vec: { threads: 1, epochs: 1 } }, { progress: false });
    for (const i of [1, 200, 400]) expect(Math.hypot(...w.vectors.subarray(i * 128, (i + 1) * 128))).toBeCloseTo(1, 5);
  });

  it('content strategies recover the planted topics, word2vec the communities, fusion both', async () => {
    const chanceTopic = chanceLabelPrecision(all, truth.topic, all);
    const chanceComm = chanceLabelPrecision(all, truth.community, all);
    const run = async (spec: Partial<EmbedSpec>) => (await computeEmbedding(inputs, { ...spec, word2vec: { threads: 1, ...spec.word2vec } }, { progress: false })).vectors;
    const concat = await run({ strategy: 'concat-pca' });
    const perModality = await run({ strategy: 'per-modality-pca' });
    const w2v = await run({ strategy: 'word2vec', word2vec: { epochs: 20 } });
    const fused = await run({ strategy: 'fuse', word2vec: { epochs: 20 } });
    // Measured on tiny (8 topics, 8 communities; chance 0.15 topic, 0.21 community; 24k sequence items): topic
    // concat 0.88, per-modality 0.92, fused 0.84; community word2vec (20 epochs) 0.31, content 0.20.
    expect(precision(concat, truth.topic)).toBeGreaterThan(chanceTopic + 0.6);
    expect(precision(perModality, truth.topic)).toBeGreaterThan(chanceTopic + 0.6);
    expect(precision(concat, truth.community)).toBeLessThan(chanceComm + 0.03);
    expect(precision(w2v, truth.community)).toBeGreaterThan(chanceComm + 0.07);
    expect(precision(w2v, truth.topic)).toBeGreaterThan(chanceTopic + 0.05);
    expect(precision(fused, truth.topic)).toBeGreaterThan(chanceTopic + 0.6);
  });

  it('builds the content table of the chosen modalities, titles included', () => {
    const { table, titleEncoder } = buildContentTable(inputs.features, ['image', 'title'], { dim: 16 });
    expect(table.blocks).toEqual([
      { name: 'image', col0: 0, dim: 1024 },
      { name: 'title', col0: 1024, dim: 16 },
    ]);
    expect(titleEncoder!.dim).toBe(16);
    const r = inputs.features.rows - 1;
    expect(table.data[r * table.width + 5]).toBe(inputs.features.image.data[r * 1024 + 5]);
    expect(() => buildContentTable(inputs.features, ['text', 'text'])).toThrow(/given twice/);
    expect(() => buildContentTable(inputs.features, ['audio' as never])).toThrow(/unknown modality 'audio'/);
  });

  it('left-pads the first five tags of each item', () => {
    const f = {
      ...inputs.features,
      rows: 2,
      itemId: Int32Array.of(2, 1),
      tags: { offsets: Int32Array.of(0, 7, 8), values: Int32Array.of(9, 0, 8, 7, 6, 5, 4, 3) },
    };
    expect(Array.from(itemInfoTags(f, 2))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 9, 8, 7, 6, 5]);
  });

  it('resolves specs: the strategy sets the reduction; widths are fixed at 128', () => {
    expect(resolveEmbedSpec({ strategy: 'per-modality-pca' }).content.reduction).toBe('per-modality-pca');
    expect(resolveEmbedSpec({}).strategy).toBe('fuse');
    expect(() => resolveEmbedSpec({ strategy: 'svd' as never })).toThrow(/unknown strategy 'svd'/);
    expect(() => resolveEmbedSpec({ content: { dim: 64 } })).toThrow(/content dim must be 128/);
    expect(() => resolveEmbedSpec({ word2vec: { dim: 64 } })).toThrow(/word2vec dim must be 128/);
    expect(() => resolveEmbedSpec({ outputScale: 'l2' as never })).toThrow(/unknown output scale 'l2'/);
    expect(resolveEmbedSpec({}).outputScale).toBe('unit-rms');
    expect(resolveEmbedSpec({}).fusion.mode).toBe('concat-pca');
    expect(existsSync(path.join(ROOT, 'item_seq.parquet'))).toBe(true);
  });

  it('resolves the residual source and the cluster block: defaults off, impossible combinations rejected', () => {
    expect(resolveEmbedSpec({}).fusion.collaborative).toBe('raw');
    expect(resolveEmbedSpec({}).fusion.clusters).toBeUndefined();
    const s = resolveEmbedSpec({ fusion: { mode: 'concat', collaborative: 'residual', clusters: { k: 32, weight: 0.5 } } });
    expect(s.fusion).toMatchObject({ collaborative: 'residual', clusters: { k: 32, weight: 0.5 } });
    expect(resolveEmbedSpec({ fusion: { mode: 'concat', clusters: { k: 'auto', weight: 1 } } }).fusion.clusters!.k).toBe('auto');
    expect(() => resolveEmbedSpec({ fusion: { clusters: { k: 32, weight: 1 } } })).toThrow(/clusters need fusion mode 'concat'.*got 'concat-pca'/);
    expect(() => resolveEmbedSpec({ fusion: { mode: 'concat', clusters: { k: 1, weight: 1 } } })).toThrow(/k = 1 must be an integer ≥ 2/);
    expect(() => resolveEmbedSpec({ fusion: { mode: 'concat', clusters: { k: 127, weight: 1 } } })).toThrow(/k = 127 leaves 1 of 128 columns/);
    expect(() => resolveEmbedSpec({ fusion: { mode: 'concat', clusters: { k: 8, weight: -1 } } })).toThrow(/weight = -1/);
    expect(() => resolveEmbedSpec({ fusion: { collaborative: 'pca' as never } })).toThrow(/unknown fusion collaborative source 'pca'/);
    expect(() => resolveEmbedSpec({ strategy: 'word2vec', fusion: { collaborative: 'residual' } })).toThrow(/strategy fuse only, not word2vec/);
    expect(() => resolveEmbedSpec({ strategy: 'concat-pca', fusion: { mode: 'concat', clusters: { k: 8, weight: 1 } } })).toThrow(/strategy fuse only/);
  });

  it('fuse clusters with method cowatch: the block holds the co-watching communities, described with their eigengap', async () => {
    const r = await computeEmbedding(
      inputs,
      { fusion: { mode: 'concat', collaborative: 'residual', clusters: { k: 6, weight: Math.SQRT1_2, method: 'cowatch', topics: 8 } }, word2vec: { threads: 1, epochs: 1 } },
      { progress: false },
    );
    const c = r.clusters!;
    expect(c).toMatchObject({ method: 'cowatch', k: 6, col0: 122, silhouette: null, scores: [] });
    expect(r.communities).toMatchObject({ k: 6, gap: null, topics: 'same-topic pairs masked, 8 content topics (spherical k-means)' });
    expect(r.description).toMatch(/‖ 0\.707·one-hot\(co-watching communities k=6: spectral clusters of the cross-topic co-occurrence of \d+ user histories, same-topic pairs masked, 8 content topics .*; k given; \d+ items linked\)/);
    for (let i = 1; i <= inputs.numItems; i++) {
      const block = Array.from(r.vectors.subarray(i * 128 + c.col0, (i + 1) * 128)).filter((v) => v !== 0);
      expect(block.length).toBeLessThanOrEqual(1);
    }
    expect(c.sizes.reduce((a, b) => a + b, 0)).toBe(r.communities!.linkedItems);
    expect(() => resolveEmbedSpec({ fusion: { mode: 'concat', clusters: { k: 8, weight: 1, topics: 8 } } })).toThrow(/topics apply to the method 'cowatch' only/);
    expect(() => resolveEmbedSpec({ fusion: { mode: 'concat', clusters: { k: 8, weight: 1, method: 'louvain' as never } } })).toThrow(/unknown method 'louvain'/);
  });

  it('fuse concat + residual + clusters: one-hot block at the last k columns, unit RMS, k in the description', async () => {
    const r = await computeEmbedding(
      inputs,
      { fusion: { mode: 'concat', collaborative: 'residual', clusters: { k: 'auto', weight: Math.SQRT1_2 } }, word2vec: { threads: 1, epochs: 2 } },
      { progress: false },
    );
    const c = r.clusters!;
    expect(c.scores.map((x) => x.k)).toEqual([16, 24, 32, 48, 64]);
    expect(c.col0 + c.k).toBe(128);
    expect(c.contentDim + c.collaborativeDim).toBe(c.col0);
    expect(r.description).toMatch(
      new RegExp(`^fuse concat \\(content 0\\.5, collaborative 0\\.5, ${c.contentDim} \\+ ${c.collaborativeDim} \\+ ${c.k} dims\\) of concat-pca.* and the least-squares residual on the content vectors of word2vec.* ‖ 0\\.707·one-hot\\(spherical k-means k=${c.k} of the collaborative source, chosen by silhouette among 16: .*\\) × [\\d.]+ \\(unit RMS\\)$`),
    );
    let ss = 0;
    let items = 0;
    let f = 0;
    for (let i = 1; i <= inputs.numItems; i++) {
      const row = r.vectors.subarray(i * 128, (i + 1) * 128);
      const block = Array.from(row.subarray(c.col0)).filter((v) => v !== 0);
      if (Array.from(row).some((v) => v !== 0)) items++;
      for (const v of row) ss += v * v;
      if (block.length === 0) continue;
      expect(block).toHaveLength(1);
      // Before the global factor f: cluster value √0.5, fused part a unit row.
      f ||= block[0] / Math.SQRT1_2;
      expect(block[0] / f).toBeCloseTo(Math.SQRT1_2, 5);
      expect(Math.hypot(...row.subarray(0, c.col0)) / f).toBeCloseTo(1, 4);
    }
    expect(f).toBeGreaterThan(0);
    expect(ss / (items * 128)).toBeCloseTo(1, 4);
    expect(Array.from(r.vectors.subarray(0, 128)).every((v) => v === 0)).toBe(true);
    expect(c.sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(300);
  });
});
