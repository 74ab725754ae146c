/**
 * Writing the synthetic tables: the seven challenge files (columns, order and dtypes from `microlensTables`) and
 * the oracle side files under `<out>/oracle/` that no model reads.
 */
import path from 'node:path';
import { MICROLENS_DIMS, microlensTables, type TableName, type TableSpec, type Vocab } from '../schema';
import { writeTable, type ColumnData, type WriteTableResult } from '../write';
import { MmctrError } from '../../errors';
import type { Progress } from '../../util/progress';
import type { ItemTruth, ItemContent, ItemVectors } from './items';
import type { SplitEval } from './diagnostics';
import type { RowSet } from './rows';
import { visibleHistory } from './rows';
import { MAX_INTERESTS, type UserTruth } from './users';

export class SynthWriteError extends MmctrError {}

/**
 * Rows per chunk of the interaction tables: polars' default parquet row-group size (512²). Smaller chunks are
 * merged into row groups while writing, which copies the whole table (measured at full scale: 9.5 GB peak for
 * item_seq with 250k-row chunks, 5.0 GB with 262,144-row chunks).
 */
const CHUNK_ROWS = 262_144;
/** Items per chunk of item_feature (1,792 floats a row). */
const ITEM_CHUNK = 16_384;

/** Orders the provided columns as the spec lists them; a missing required or an unknown column is an error. */
function specColumns(spec: TableSpec, provided: Record<string, ColumnData>): ColumnData[] {
  const out: ColumnData[] = [];
  const known = new Set<string>();
  for (const col of spec.columns) {
    known.add(col.name);
    const c = provided[col.name];
    if (c === undefined) {
      if (col.optional) continue;
      throw new SynthWriteError(`${spec.path}: the generator gives no column '${col.name}'`);
    }
    out.push({ ...c, name: col.name });
  }
  for (const name of Object.keys(provided)) {
    if (!known.has(name)) throw new SynthWriteError(`${spec.path}: column '${name}' is not in the schema`);
  }
  return out;
}

export class TableWriter {
  readonly specs: Record<TableName, TableSpec>;
  readonly written: WriteTableResult[] = [];

  constructor(
    readonly outDir: string,
    vocab: Vocab,
  ) {
    this.specs = microlensTables(vocab);
  }

  private async write(rel: string, chunks: Iterable<ColumnData[]>): Promise<WriteTableResult> {
    const res = await writeTable(path.join(this.outDir, rel), chunks);
    const entry = { ...res, path: rel };
    this.written.push(entry);
    return entry;
  }

  async itemFeature(items: ItemTruth, content: ItemContent, prog?: Progress): Promise<WriteTableResult> {
    const spec = this.specs.item_feature;
    const { n, textDim: dt, imageDim: di, concat } = content;
    function* chunks(): Generator<ColumnData[]> {
      for (let i0 = 1; i0 <= n; i0 += ITEM_CHUNK) {
        const i1 = Math.min(n + 1, i0 + ITEM_CHUNK);
        const m = i1 - i0;
        const text = new Float32Array(m * dt);
        const image = new Float32Array(m * di);
        for (let r = 0; r < m; r++) {
          const src = (i0 - 1 + r) * (dt + di);
          text.set(concat.subarray(src, src + dt), r * dt);
          image.set(concat.subarray(src + dt, src + dt + di), r * di);
        }
        const offsets = Int32Array.from({ length: m + 1 }, (_, r) => items.tagOffsets[i0 + r] - items.tagOffsets[i0]);
        yield specColumns(spec, {
          item_id: { name: '', kind: 'int64', values: Int32Array.from({ length: m }, (_, r) => i0 + r) },
          item_title: { name: '', kind: 'string', values: items.titles.slice(i0, i1) },
          item_tags: {
            name: '',
            kind: 'int64VarList',
            offsets,
            values: items.tagValues.subarray(items.tagOffsets[i0], items.tagOffsets[i1]),
          },
          likes_level: { name: '', kind: 'int64', values: items.likesLevel.subarray(i0, i1) },
          views_level: { name: '', kind: 'int64', values: items.viewsLevel.subarray(i0, i1) },
          txt_emb_BERT: { name: '', kind: 'float32List', values: text, width: dt },
          img_emb_CLIPRN50: { name: '', kind: 'float32List', values: image, width: di },
        });
        prog?.tick(m);
      }
    }
    const res = await this.write(spec.path, chunks());
    prog?.done();
    return res;
  }

  /** item_info: row index == item_id, row 0 is padding (zeros); tags left-padded to 5. */
  async itemInfo(items: ItemTruth, vectors: ItemVectors): Promise<WriteTableResult> {
    const spec = this.specs.item_info;
    const n = items.n;
    const w = MICROLENS_DIMS.itemInfoTags;
    const k = MICROLENS_DIMS.itemEmbDim;
    const tags = new Int32Array((n + 1) * w);
    for (let i = 1; i <= n; i++) {
      const a = items.tagOffsets[i];
      const b = Math.min(items.tagOffsets[i + 1], a + w);
      for (let j = a; j < b; j++) tags[i * w + w - (b - a) + (j - a)] = items.tagValues[j];
    }
    const emb = new Float32Array((n + 1) * k);
    emb.set(vectors.concat, k);
    return this.write(spec.path, [
      specColumns(spec, {
        item_id: { name: '', kind: 'int64', values: Int32Array.from({ length: n + 1 }, (_, i) => i) },
        item_tags: { name: '', kind: 'int64List', values: tags, width: w },
        item_emb_d128: { name: '', kind: 'float32List', values: emb, width: k },
      }),
    ]);
  }

  async itemEmb(items: ItemTruth, vectors: ItemVectors): Promise<WriteTableResult> {
    const spec = this.specs.item_emb;
    const k = MICROLENS_DIMS.itemEmbDim;
    const list = (values: Float32Array): ColumnData => ({ name: '', kind: 'float32List', values, width: k });
    return this.write(spec.path, [
      specColumns(spec, {
        item_id: { name: '', kind: 'int64', values: Int32Array.from({ length: items.n }, (_, i) => i + 1) },
        item_emb_d128_v1: list(vectors.concat),
        item_emb_d128_v2: list(vectors.text),
        item_emb_d128_v3: list(vectors.image),
        item_emb_d128_e4: list(vectors.balanced),
      }),
    ]);
  }

  /** Left-padded stored histories of rows [r0, r1): [(r1 − r0) × 100], newest rightmost. */
  private histories(users: UserTruth, rows: RowSet, r0: number, r1: number): Int32Array {
    const L = MICROLENS_DIMS.storedSeqLen;
    const out = new Int32Array((r1 - r0) * L);
    for (let r = r0; r < r1; r++) {
      const [a, b] = visibleHistory(users, rows.user[r], rows.prefix[r]);
      out.set(users.seqItems.subarray(a, b), (r - r0) * L + L - (b - a));
    }
    return out;
  }

  async itemSeq(users: UserTruth, rows: RowSet, prog?: Progress): Promise<WriteTableResult> {
    const spec = this.specs.item_seq;
    const self = this;
    function* chunks(): Generator<ColumnData[]> {
      for (let r0 = 0; r0 < rows.rows; r0 += CHUNK_ROWS) {
        const r1 = Math.min(rows.rows, r0 + CHUNK_ROWS);
        yield specColumns(spec, {
          user_id: { name: '', kind: 'int64', values: rows.user.subarray(r0, r1) },
          item_seq: { name: '', kind: 'int64List', values: self.histories(users, rows, r0, r1), width: MICROLENS_DIMS.storedSeqLen },
        });
        prog?.tick(r1 - r0);
      }
    }
    const res = await this.write(spec.path, chunks());
    prog?.done();
    return res;
  }

  /** train / valid (with label) or test (with ID, without label). */
  async interactions(
    which: 'train' | 'valid' | 'test',
    items: ItemTruth,
    users: UserTruth,
    split: SplitEval,
    prog?: Progress,
  ): Promise<WriteTableResult> {
    const spec = this.specs[which];
    const rows = split.rows;
    const self = this;
    function* chunks(): Generator<ColumnData[]> {
      for (let r0 = 0; r0 < rows.rows; r0 += CHUNK_ROWS) {
        const r1 = Math.min(rows.rows, r0 + CHUNK_ROWS);
        const target = rows.target.subarray(r0, r1);
        const cols: Record<string, ColumnData> = {
          user_id: { name: '', kind: 'int64', values: rows.user.subarray(r0, r1) },
          item_seq: { name: '', kind: 'int64List', values: self.histories(users, rows, r0, r1), width: MICROLENS_DIMS.storedSeqLen },
          item_id: { name: '', kind: 'int64', values: target },
          likes_level: { name: '', kind: 'int64', values: Int32Array.from(target, (x) => items.likesLevel[x]) },
          views_level: { name: '', kind: 'int64', values: Int32Array.from(target, (x) => items.viewsLevel[x]) },
        };
        if (which === 'test') cols.ID = { name: '', kind: 'int64', values: Int32Array.from({ length: r1 - r0 }, (_, i) => r0 + i) };
        else cols.label = { name: '', kind: 'int64', values: split.labels.subarray(r0, r1) };
        yield specColumns(spec, cols);
        prog?.tick(r1 - r0);
      }
    }
    const res = await this.write(spec.path, chunks());
    prog?.done();
    return res;
  }

  /** oracle/<split>_truth.parquet: the true probability and what produced it, row by row. */
  async truth(which: 'valid' | 'test', items: ItemTruth, split: SplitEval, logitBase: Float64Array, b0: number): Promise<WriteTableResult> {
    const { rows, scores, p, labels } = split;
    const n = rows.rows;
    const target = rows.target;
    const cols: ColumnData[] = [
      { name: which === 'test' ? 'ID' : 'row', kind: 'int64', values: Int32Array.from({ length: n }, (_, i) => i) },
      { name: 'user_id', kind: 'int64', values: rows.user },
      { name: 'item_id', kind: 'int64', values: target },
      { name: 'label', kind: 'int64', values: labels },
      { name: 'p_true', kind: 'float64', values: p },
      { name: 'logit', kind: 'float64', values: Float64Array.from(logitBase, (z) => z + b0) },
      { name: 'history_match', kind: 'float32', values: scores.match },
      { name: 'history_mean_match', kind: 'float32', values: scores.meanMatch },
      { name: 'history_len', kind: 'int64', values: Int32Array.from(rows.prefix, (t) => Math.min(t, MICROLENS_DIMS.storedSeqLen)) },
      { name: 'target_from_interest', kind: 'int64', values: rows.fromInterest },
      { name: 'target_topic', kind: 'int64', values: Int32Array.from(target, (x) => items.topic[x]) },
      { name: 'target_community', kind: 'int64', values: Int32Array.from(target, (x) => items.community[x]) },
    ];
    return this.write(`oracle/${which}_truth.parquet`, [cols]);
  }

  /** oracle/item_truth.parquet: topic, community, popularity, bias and content latent of every item. */
  async itemTruth(items: ItemTruth): Promise<WriteTableResult> {
    const n = items.n;
    const D = items.latentDim;
    return this.write('oracle/item_truth.parquet', [
      [
        { name: 'item_id', kind: 'int64', values: Int32Array.from({ length: n }, (_, i) => i + 1) },
        { name: 'topic', kind: 'int64', values: items.topic.subarray(1) },
        { name: 'community', kind: 'int64', values: items.community.subarray(1) },
        { name: 'popularity', kind: 'float64', values: items.pop.subarray(1) },
        { name: 'popularity_std', kind: 'float64', values: items.popStd.subarray(1) },
        { name: 'bias', kind: 'float64', values: items.bias.subarray(1) },
        { name: 'latent', kind: 'float32List', values: items.z.subarray(D), width: D },
      ],
    ]);
  }

  /** oracle/user_truth.parquet: interests (padded to 4 with −1 / weight 0) and sequence length of every user. */
  async userTruth(users: UserTruth): Promise<WriteTableResult> {
    const U = users.n;
    const I = MAX_INTERESTS;
    return this.write('oracle/user_truth.parquet', [
      [
        { name: 'user_id', kind: 'int64', values: Int32Array.from({ length: U }, (_, i) => i + 1) },
        { name: 'n_interests', kind: 'int64', values: users.nInterests.subarray(1) },
        { name: 'interest_topics', kind: 'int64List', values: users.interestTopic.subarray(I), width: I },
        { name: 'interest_communities', kind: 'int64List', values: users.interestCommunity.subarray(I), width: I },
        { name: 'interest_weights', kind: 'float32List', values: users.interestWeight.subarray(I), width: I },
        {
          name: 'seq_len',
          kind: 'int64',
          values: Int32Array.from({ length: U }, (_, i) => users.seqOffsets[i + 2] - users.seqOffsets[i + 1]),
        },
      ],
    ]);
  }
}
