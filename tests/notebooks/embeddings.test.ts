import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EmbedInputs } from '../../src/features/embed';
import type { ItemTable } from '../../src/models/types';
import {
  clusterPurity,
  clustersFromBlock,
  readAblationResults,
  readItemTruth,
  retrievalPrecision,
  retrievalSetup,
  topicMapPoints,
  withItemVectors,
  type ItemTruth,
} from '../../src/notebooks/embeddings';

const TINY = path.resolve(__dirname, '../../data/tiny');
const DIM = 128;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mmctr-nb-embeddings-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** n items (ids 1..n), topic = id % 4, community = id % 2; each item's vector points along its topic's axis. */
function planted(n: number): { truth: ItemTruth; vectors: Float32Array; inputs: EmbedInputs } {
  const topic = Int32Array.from({ length: n + 1 }, (_, id) => (id === 0 ? -1 : id % 4));
  const community = Int32Array.from({ length: n + 1 }, (_, id) => (id === 0 ? -1 : id % 2));
  const vectors = new Float32Array((n + 1) * DIM);
  for (let id = 1; id <= n; id++) {
    vectors[id * DIM + topic[id]] = 1;
    vectors[id * DIM + 10 + (id % 7)] = 0.01 * id; // ties broken, topic still dominant
  }
  // Every item appears 5 times in item_seq except item 1 (4 times): it cannot be a query.
  const values: number[] = [];
  for (let rep = 0; rep < 5; rep++) for (let id = rep === 0 ? 2 : 1; id <= n; id++) values.push(id);
  const inputs = {
    numItems: n,
    features: {} as EmbedInputs['features'],
    sequences: { rows: 1, userId: new Int32Array(1), offsets: Int32Array.from([0, values.length]), values: Int32Array.from(values) },
  };
  return { truth: { topic, community }, vectors, inputs };
}

describe('retrieval', () => {
  it('queries items seen often enough, and scores planted topics at 1 and chance at the label share', () => {
    const { truth, vectors, inputs } = planted(40);
    const setup = retrievalSetup(inputs, truth, { maxQueries: 1000 });
    expect(setup.queries.length).toBe(39);
    expect(setup.queries[0]).toBe(2);
    expect(setup.candidates.length).toBe(40);
    expect(setup.chanceTopic).toBeCloseTo(9 / 39, 6); // 10 items per topic, the query excluded
    const p = retrievalPrecision(vectors, setup, truth, 5);
    expect(p.topic).toBe(1);
    expect(p.community).toBe(1); // topic determines community here (id % 4 → id % 2)
    const few = retrievalSetup(inputs, truth, { maxQueries: 10, seed: 3 });
    expect(few.queries.length).toBe(10);
    expect(Array.from(retrievalSetup(inputs, truth, { maxQueries: 10, seed: 3 }).queries)).toEqual(Array.from(few.queries));
  });

  it('refuses inputs without item_seq', () => {
    const { truth, inputs } = planted(10);
    expect(() => retrievalSetup({ ...inputs, sequences: null }, truth)).toThrow(/item_seq/);
  });
});

describe('item truth and the topic map', () => {
  it('reads topics and communities of data/tiny by item id, −1 for id 0; null without an oracle', () => {
    const t = readItemTruth(TINY, 400)!;
    expect(t.topic.length).toBe(401);
    expect(t.topic[0]).toBe(-1);
    expect(t.community[0]).toBe(-1);
    for (let id = 1; id <= 400; id++) {
      expect(t.topic[id]).toBeGreaterThanOrEqual(0);
      expect(t.community[id]).toBeGreaterThanOrEqual(0);
    }
    expect(new Set(t.topic.subarray(1)).size).toBeGreaterThan(1);
    expect(readItemTruth(tmp, 10)).toBeNull();
    expect(() => readItemTruth(TINY, 100)).toThrow(/outside 0\.\.100/);
  });

  it('projects at most maxItems items with a topic and a vector, labelled by topic, reproducibly', () => {
    const { truth, vectors } = planted(60);
    vectors.fill(0, 5 * DIM, 6 * DIM); // item 5 has no vector
    const all = topicMapPoints(vectors, truth, 1000);
    expect(all.points.length).toBe(59);
    expect(all.points[0].label).toBe('topic 1');
    expect(new Set(all.points.map((p) => p.label))).toEqual(new Set(['topic 0', 'topic 1', 'topic 2', 'topic 3']));
    const some = topicMapPoints(vectors, truth, 20, 'x');
    expect(some.points.length).toBe(20);
    expect(topicMapPoints(vectors, truth, 20, 'x')).toEqual(some);
  });
});

describe('item tables and the committed ablation', () => {
  it('withItemVectors swaps item_emb_d128 and checks its size', () => {
    const base: ItemTable = { tags: { data: new Int32Array(3 * 5), rows: 3, cols: 5 }, emb: { data: new Float32Array(3 * DIM), rows: 3, cols: DIM }, tagVocab: 2 };
    const v = new Float32Array(3 * DIM).fill(2);
    const t = withItemVectors(base, v);
    expect(t.emb.data).toBe(v);
    expect(t.tags).toBe(base.tags);
    expect(() => withItemVectors(base, new Float32Array(2 * DIM))).toThrow(/2 rows of vectors for an item table of 3 rows/);
  });

  it('reads bench/results/embedAblation.json rows; null when absent; refuses a row without AUC', () => {
    const file = path.join(tmp, 'ablation.json');
    writeFileSync(file, JSON.stringify({
      command: 'npm run bench:embed-ablation', machine: { date: '2026-01-02T03:04:05.000Z' }, notes: ['n'],
      rows: [{ strategy: 'concat-pca', 'valid AUC': 0.7002, 'topic p@10': 0.8866, 'community p@10': '', epochs: 2, 'train s': 104 }],
    }));
    const r = readAblationResults(file)!;
    expect(r.date).toBe('2026-01-02T03:04:05.000Z');
    expect(r.rows).toEqual([{ strategy: 'concat-pca', validAuc: 0.7002, topicP10: 0.8866, communityP10: null, epochs: 2 }]);
    expect(readAblationResults(path.join(tmp, 'none.json'))).toBeNull();
    writeFileSync(file, JSON.stringify({ command: 'x', machine: { date: 'd' }, rows: [{ strategy: 'x' }] }));
    expect(() => readAblationResults(file)).toThrow(/row 0/);
    expect(readAblationResults(path.resolve(__dirname, '../../bench/results/embedAblation.json'))!.rows.length).toBeGreaterThan(0);
  });
});

describe('clusters of a one-hot block and their purity', () => {
  it('decodes the block and counts majority labels both ways', () => {
    // 5 rows of width 4, block at columns 2..3; row 0 padding, row 4 without a cluster.
    const v = Float32Array.from([0, 0, 0, 0, 1, 1, 0.7, 0, 1, 1, 0, 0.7, 1, 1, 0.7, 0, 1, 1, 0, 0]);
    expect(Array.from(clustersFromBlock(v, 4, 2, 2))).toEqual([-1, 0, 1, 0, -1]);
    expect(() => clustersFromBlock(v, 4, 3, 2)).toThrow(/block \[3, 5\) does not fit rows of 4/);
    // clusters 0,0,0,1,1 against labels 5,5,6,6,6: cluster 0's majority 5 (2 of 3), cluster 1's 6 (2): 4 of 5;
    // label 5's majority cluster 0 (2), label 6's cluster 1 (2 of 3): 4 of 5.
    const c = Int32Array.from([-1, 0, 0, 0, 1, 1]);
    const l = Int32Array.from([-1, 5, 5, 6, 6, 6]);
    expect(clusterPurity(c, l)).toEqual({ purity: 0.8, inverse: 0.8, items: 5 });
    // One cluster over two labels: pure one way only.
    expect(clusterPurity(Int32Array.from([0, 0, 0, 0]), Int32Array.from([1, 1, 2, 2]))).toEqual({ purity: 0.5, inverse: 1, items: 4 });
    expect(() => clusterPurity(new Int32Array(2), new Int32Array(3))).toThrow(/2 clusters for 3 labels/);
  });
});
