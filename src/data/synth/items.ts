/**
 * Items: topics, communities, popularity, bias, content latent, tags, levels, titles, and the two content views
 * (text 768-d, image 1024-d) with their PCA projections (item_emb_d128 and the four item_emb columns).
 *
 * Arrays are indexed by item id (index 0 is the padding item and stays zero / −1).
 */
import { fitPca, gramStats, gramStatsBlock, pcaFromStats, pcaTransformMany, type PcaModel } from '../../linalg/pca';
import { colBlock, type MatView } from '../../linalg/matrix';
import { AliasTable, type Rng } from '../../util/rng';
import type { Progress } from '../../util/progress';
import type { ItemParams, ModalityParams, SynthConfig } from './config';
import { makeTitle, makeWordBank } from './titles';

export interface ItemTruth {
  /** Number of real items N (ids 1..N). */
  n: number;
  /** Topic of item i (−1 for i = 0). */
  topic: Int32Array;
  /** Community of item i (−1 for i = 0). */
  community: Int32Array;
  /** Popularity weight ∝ (rank + offset)^−α, summing to 1 over items 1..N. */
  pop: Float64Array;
  /** Standardised log popularity (mean 0, sd 1 over items 1..N). */
  popStd: Float64Array;
  /** Per-item click bias (logit units). */
  bias: Float64Array;
  /** Content latent, [(N+1) × latentDim]. */
  z: Float32Array;
  /** z / |z|, [(N+1) × latentDim] (row 0 zero). */
  zUnit: Float32Array;
  latentDim: number;
  /** Items of each topic / community (ids), for pool sampling. */
  topicItems: Int32Array[];
  communityItems: Int32Array[];
  /** likes_level / views_level (0..9) of each item. */
  likesLevel: Int32Array;
  viewsLevel: Int32Array;
  /** Tags in CSR form over items 0..N (item 0 has none). */
  tagOffsets: Int32Array;
  tagValues: Int32Array;
  /** Titles, index 0 = ''. */
  titles: string[];
}

/** Decile bins 0..9 of a score (equal-frequency, ties broken by index: deterministic). */
function deciles(score: Float64Array, from: number): Int32Array {
  const n = score.length - from;
  const idx = Array.from({ length: n }, (_, i) => i + from);
  idx.sort((a, b) => score[a] - score[b] || a - b);
  const out = new Int32Array(score.length);
  for (let r = 0; r < n; r++) out[idx[r]] = Math.min(9, Math.floor((r * 10) / n));
  return out;
}

function groupWeights(r: Rng, k: number, shape: number): Float64Array {
  const w = new Float64Array(k);
  let s = 0;
  for (let i = 0; i < k; i++) s += w[i] = r.gamma(shape);
  for (let i = 0; i < k; i++) w[i] /= s;
  return w;
}

function members(label: Int32Array, k: number): Int32Array[] {
  const lists: number[][] = Array.from({ length: k }, () => []);
  for (let i = 1; i < label.length; i++) lists[label[i]].push(i);
  return lists.map((l) => Int32Array.from(l));
}

/** Everything about items except the embeddings. */
export function makeItems(cfg: SynthConfig, root: Rng): ItemTruth {
  const p: ItemParams = cfg.items;
  const n = cfg.sizes.numItems;
  const D = p.latentDim;
  const rTopic = root.fork('items/topics');
  const topicW = groupWeights(rTopic, p.numTopics, p.groupSizeShape);
  const topicTable = new AliasTable(topicW);
  const rComm = root.fork('items/communities');
  const commW = groupWeights(rComm, p.numCommunities, p.groupSizeShape);
  const commTable = new AliasTable(commW);
  const topic = new Int32Array(n + 1).fill(-1);
  const community = new Int32Array(n + 1).fill(-1);
  for (let i = 1; i <= n; i++) {
    topic[i] = topicTable.draw(rTopic);
    community[i] = commTable.draw(rComm);
  }
  // Guarantee every group is non-empty (tiny scales): give empty groups one item each, deterministically.
  const fill = (label: Int32Array, k: number, r: Rng) => {
    const count = new Int32Array(k);
    for (let i = 1; i <= n; i++) count[label[i]]++;
    for (let g = 0; g < k; g++) {
      if (count[g] > 0) continue;
      for (;;) {
        const i = 1 + r.int(n);
        if (count[label[i]] > 1) {
          count[label[i]]--;
          label[i] = g;
          count[g]++;
          break;
        }
      }
    }
  };
  fill(topic, p.numTopics, rTopic);
  fill(community, p.numCommunities, rComm);

  // Popularity: Zipf over a random rank order.
  const rPop = root.fork('items/popularity');
  const rank = rPop.permutation(n);
  const pop = new Float64Array(n + 1);
  const logPop = new Float64Array(n + 1);
  let ps = 0;
  for (let i = 1; i <= n; i++) {
    logPop[i] = -p.popularityExponent * Math.log(rank[i - 1] + 1 + p.popularityOffset);
    ps += pop[i] = Math.exp(logPop[i]);
  }
  let lm = 0;
  for (let i = 1; i <= n; i++) {
    pop[i] /= ps;
    lm += logPop[i];
  }
  lm /= n;
  let lv = 0;
  for (let i = 1; i <= n; i++) lv += (logPop[i] - lm) ** 2;
  const lsd = Math.sqrt(lv / n) || 1;
  const popStd = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) popStd[i] = (logPop[i] - lm) / lsd;

  const rBias = root.fork('items/bias');
  const bias = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) bias[i] = p.itemBiasSd * rBias.normal();

  // Content latent: topic centre + item noise.
  const rLat = root.fork('items/latent');
  const centres = new Float64Array(p.numTopics * D);
  for (let i = 0; i < centres.length; i++) centres[i] = p.topicSpread * rLat.normal();
  const z = new Float32Array((n + 1) * D);
  const zUnit = new Float32Array((n + 1) * D);
  for (let i = 1; i <= n; i++) {
    let nrm = 0;
    for (let d = 0; d < D; d++) {
      const v = centres[topic[i] * D + d] + p.itemNoise * rLat.normal();
      z[i * D + d] = v;
      nrm += v * v;
    }
    nrm = Math.sqrt(nrm) || 1;
    for (let d = 0; d < D; d++) zUnit[i * D + d] = z[i * D + d] / nrm;
  }

  // Levels: deciles of noisy log popularity (views) and of popularity + bias (likes).
  const rLev = root.fork('items/levels');
  const vScore = new Float64Array(n + 1);
  const lScore = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) {
    vScore[i] = popStd[i] + p.viewsLevelNoise * rLev.normal();
    lScore[i] = popStd[i] + (p.likesBiasWeight * bias[i]) / (p.itemBiasSd || 1) + p.likesLevelNoise * rLev.normal();
  }
  const viewsLevel = deciles(vScore, 1);
  const likesLevel = deciles(lScore, 1);
  viewsLevel[0] = 0;
  likesLevel[0] = 0;

  // Tags: each topic owns a pool (a random partition of the tag ids); Zipf inside the pool.
  const rTag = root.fork('items/tags');
  const T = cfg.sizes.numTags;
  const tagPerm = rTag.permutation(T);
  const pools: AliasTable[] = [];
  for (let t = 0; t < p.numTopics; t++) {
    const lo = Math.floor((t * T) / p.numTopics);
    const hi = Math.floor(((t + 1) * T) / p.numTopics);
    const ids = new Int32Array(hi - lo);
    const w = new Float64Array(hi - lo);
    for (let j = 0; j < ids.length; j++) {
      ids[j] = tagPerm[lo + j] + 1;
      w[j] = Math.pow(j + 1, -p.tagZipfExponent);
    }
    pools.push(new AliasTable(w, ids));
  }
  const countTable = new AliasTable(p.tagCountProbs);
  const tagOffsets = new Int32Array(n + 2);
  const tagList: number[] = [];
  for (let i = 1; i <= n; i++) {
    tagOffsets[i] = tagList.length;
    const want = Math.min(1 + countTable.draw(rTag), T);
    const mine: number[] = [];
    for (let tries = 0; mine.length < want && tries < 50; tries++) {
      const tag = rTag.uniform() < p.tagFromTopic ? pools[topic[i]].draw(rTag) : 1 + rTag.int(T);
      if (!mine.includes(tag)) mine.push(tag);
    }
    tagList.push(...mine);
  }
  tagOffsets[n + 1] = tagList.length;
  const tagValues = Int32Array.from(tagList);

  // Titles: topic words, filler words and hashtags named after the item's tags.
  const rTitle = root.fork('items/titles');
  const bank = makeWordBank(root.fork('items/words'), p.numTopics, T);
  const titles: string[] = [''];
  for (let i = 1; i <= n; i++) {
    titles.push(makeTitle(rTitle, bank, topic[i], tagValues.subarray(tagOffsets[i], tagOffsets[i + 1])));
  }

  return {
    n,
    topic,
    community,
    pop,
    popStd,
    bias,
    z,
    zUnit,
    latentDim: D,
    topicItems: members(topic, p.numTopics),
    communityItems: members(community, p.numCommunities),
    likesLevel,
    viewsLevel,
    tagOffsets,
    tagValues,
    titles,
  };
}

/** The content views as one [N × (768 + 1024)] float32 table: row i − 1 = [text ‖ image] of item i. */
export interface ItemContent {
  n: number;
  textDim: number;
  imageDim: number;
  /** [N × (textDim + imageDim)] */
  concat: Float32Array;
}

function modalityMap(r: Rng, m: ModalityParams, zVar: number) {
  const [a, b] = m.latentRange;
  const w = b - a;
  // Entries N(0, signalSd² / (w · zVar)) give each output coordinate a signal std of about signalSd.
  const map = new Float64Array(m.dim * w);
  r.fillNormal(map, 0, m.signalSd / Math.sqrt(w * zVar));
  const offset = new Float64Array(m.dim);
  r.fillNormal(offset, 0, m.offsetSd);
  for (const [i, v] of m.outliers) offset[i] = v;
  return { a, w, map, offset };
}

/** Generates text and image embeddings: x = offset + M · z[range] + noise, per modality. */
export function makeContent(cfg: SynthConfig, items: ItemTruth, root: Rng, prog?: Progress): ItemContent {
  const { text, image } = cfg.embeddings;
  const n = items.n;
  const D = items.latentDim;
  const zVar = cfg.items.topicSpread ** 2 + cfg.items.itemNoise ** 2;
  const width = text.dim + image.dim;
  const concat = new Float32Array(n * width);
  const noise = new Float32Array(width);
  const parts = [
    { p: text, col0: 0, ...modalityMap(root.fork('content/text-map'), text, zVar), r: root.fork('content/text-noise') },
    { p: image, col0: text.dim, ...modalityMap(root.fork('content/image-map'), image, zVar), r: root.fork('content/image-noise') },
  ];
  for (let i = 1; i <= n; i++) {
    const row = (i - 1) * width;
    for (const part of parts) {
      const nd = part.p.dim;
      const nz = noise.subarray(0, nd);
      part.r.fillNormal(nz, 0, part.p.noiseSd);
      const zo = i * D + part.a;
      for (let j = 0; j < nd; j++) {
        let s = part.offset[j] + nz[j];
        const mo = j * part.w;
        for (let t = 0; t < part.w; t++) s += part.map[mo + t] * items.z[zo + t];
        concat[row + part.col0 + j] = s;
      }
    }
    if ((i & 4095) === 0) prog?.tick(4096);
  }
  prog?.done();
  return { n, textDim: text.dim, imageDim: image.dim, concat };
}

/** The 128-d item vectors, each [N × 128] float32 (row i − 1 = item i). */
export interface ItemVectors {
  /** item_info.item_emb_d128 = item_emb_d128_v1: PCA of [text ‖ image] (raw, centred). */
  concat: Float32Array;
  /** item_emb_d128_v2: PCA of the text embedding alone. */
  text: Float32Array;
  /** item_emb_d128_v3: PCA of the image embedding alone. */
  image: Float32Array;
  /** item_emb_d128_e4: PCA of [text / s_text ‖ image / s_image], each modality scaled to unit mean variance. */
  balanced: Float32Array;
  /** Share of the variance the 128 axes keep, per PCA. */
  explained: { concat: number; text: number; image: number; balanced: number };
}

/** Documented derivations of the item vectors (also written to ground_truth.json). */
export const ITEM_VECTOR_DERIVATIONS = {
  item_emb_d128:
    'PCA of the concatenation [txt_emb_BERT ‖ img_emb_CLIPRN50] (1792-d, centred, not scaled) to 128 dims; ' +
    'unnormalised projections (x − mean) · V, sign fixed so the largest-magnitude loading of each axis is positive',
  item_emb_d128_v1: 'identical to item_info.item_emb_d128 (PCA of the raw concatenation)',
  item_emb_d128_v2: 'PCA of txt_emb_BERT alone (768 → 128)',
  item_emb_d128_v3: 'PCA of img_emb_CLIPRN50 alone (1024 → 128)',
  item_emb_d128_e4:
    'PCA of the per-modality standardised concatenation [text / s_t ‖ image / s_i] (s_m = sqrt of the mean ' +
    'per-coordinate variance of modality m), so both modalities weigh equally',
} as const;

export interface ItemVectorOptions {
  /** Reports Gram rows and projection rows (2 passes). */
  onGramRows?: (rows: number) => void;
  onProjectRows?: (rows: number) => void;
}

/**
 * All four PCAs from one Gram pass over the [text ‖ image] table (four dual PCAs instead when there are fewer
 * items than columns).
 */
export function makeItemVectors(content: ItemContent, k: number, opts: ItemVectorOptions = {}): ItemVectors {
  const { n, textDim: dt, imageDim: di } = content;
  const x: MatView = { data: content.concat, rows: n, cols: dt + di };
  const balancedScale = (tvText: number, tvImage: number) => {
    // Per-modality factor 1 / sqrt(mean per-coordinate variance) = 1 / sqrt(totalVariance / d).
    const scale = new Float64Array(dt + di);
    scale.fill(1 / Math.sqrt(tvText / dt), 0, dt);
    scale.fill(1 / Math.sqrt(tvImage / di), dt);
    return scale;
  };
  let pConcat: PcaModel;
  let pText: PcaModel;
  let pImage: PcaModel;
  let pBal: PcaModel;
  if (n < dt + di) {
    // Fewer items than columns (tiny scale): dual PCAs, each on its own view.
    pConcat = fitPca(x, { k });
    pText = fitPca(colBlock(x, 0, dt), { k });
    pImage = fitPca(colBlock(x, dt, di), { k });
    pBal = fitPca(x, { k, scale: balancedScale(pText.totalVariance, pImage.totalVariance) });
    opts.onGramRows?.(n);
  } else {
    // One Gram pass serves all four: its blocks are the per-modality Grams, the balanced one is a rescaling.
    const st = gramStats(x, { onRows: opts.onGramRows });
    pConcat = pcaFromStats(st, { k });
    pText = pcaFromStats(gramStatsBlock(st, 0, dt), { k });
    pImage = pcaFromStats(gramStatsBlock(st, dt, di), { k });
    pBal = pcaFromStats(st, { k, scale: balancedScale(pText.totalVariance, pImage.totalVariance) });
  }
  let done = 0;
  const report = (r: number) => opts.onProjectRows?.(done + r);
  const [concat, balanced] = pcaTransformMany(x, [pConcat, pBal], { onRows: report });
  done += n;
  const [text] = pcaTransformMany(colBlock(x, 0, dt), [pText], { onRows: report });
  done += n;
  const [image] = pcaTransformMany(colBlock(x, dt, di), [pImage], { onRows: report });
  const share = (m: { explainedVariance: Float64Array; totalVariance: number }) =>
    m.explainedVariance.reduce((s, v) => s + v, 0) / m.totalVariance;
  return {
    concat,
    text,
    image,
    balanced,
    explained: { concat: share(pConcat), text: share(pText), image: share(pImage), balanced: share(pBal) },
  };
}
