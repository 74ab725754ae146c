/**
 * Ablation of Task 1's strategies through Task 2: the DIN `dinSmall` preset trained on the small synthetic data
 * with each strategy's item_emb_d128 (everything else fixed: data, model seed, shuffle seed, schedule), best valid
 * AUC per strategy, beside the strategy's retrieval precision. A control row trains with item_emb_d128 = 0 (the
 * model then has only ids, tags and levels).
 *
 *   npm run bench:embed-ablation            (long: one DIN training per strategy; run on a quiet machine)
 *   node --import tsx bench/embedAblation.ts [--data data/small] [--epochs 4] [--batch-size 512] [--lr 0.002]
 *        [--patience 1] [--seeds 20242025,7] [--only <name>,<name>] [--output-scale unit-rms|as-is] [--preset dinSmall]
 * Besides bench/lib/embedVariants.ts's strategies it trains `ABLATION_ONLY_VARIANTS` (fusion variants not in the
 * retrieval benchmark). `--preset` picks another DIN preset (e.g. dinMatchSmall); the table says which.
 *
 * Writes bench/results/embedAblation.{md,json}; bench/embed.ts copies the table into bench/results/embed.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadSplit } from '../src/data/load';
import { MICROLENS_DIMS } from '../src/data/schema';
import { selectBackend } from '../src/engine/backend';
import {
  OUTPUT_SCALES,
  chanceLabelPrecision,
  computeEmbedding,
  createEmbedCache,
  itemInfoTags,
  labelPrecision,
  loadEmbedInputs,
  topNeighbours,
  type OutputScale,
} from '../src/features';
import { createModel, presetArgs, type PresetName } from '../src/models/registry';
import type { ItemTable } from '../src/models/types';
import { train } from '../src/train/trainer';
import { setProgressEnabled } from '../src/util/progress';
import { rng } from '../src/util/rng';
import { EMBED_VARIANTS, type EmbedVariant } from './lib/embedVariants';
import { hasItemTruth, readItemTruth } from '../src/data/synth/itemTruthFile';
import { writeResults, type Row } from './lib/results';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: 'data/small' },
    epochs: { type: 'string', default: '4' },
    'batch-size': { type: 'string', default: '512' },
    lr: { type: 'string', default: '0.002' },
    patience: { type: 'string', default: '1' },
    seeds: { type: 'string', default: '20242025,7' },
    only: { type: 'string' },
    'output-scale': { type: 'string', default: 'unit-rms' },
    preset: { type: 'string', default: 'dinSmall' },
    merge: { type: 'boolean', default: false },
  },
});

const RESULTS_JSON = path.resolve('bench/results/embedAblation.json');

/** A command without its --only / --merge parts: two runs with equal settings give equal strings. */
const settingsOf = (command: string) => command.replace(/ --only '[^']*'/, '').replace(/ --merge/, '');

/** Strategies trained here only: the concatenation of the two sources without a joint PCA (64 + 64). */
const ABLATION_ONLY_VARIANTS: readonly EmbedVariant[] = [
  { name: 'fuse concat: concat-pca 64 + word2vec 64', spec: { strategy: 'fuse', fusion: { mode: 'concat', contentDim: 64 } } },
];

const CONTROL = 'control: item_emb_d128 = 0';

async function main(): Promise<void> {
  const root = args.data!;
  const backend = await selectBackend({});
  const trainConfig = {
    epochs: Number(args.epochs),
    batchSize: Number(args['batch-size']),
    learningRate: Number(args.lr),
    patience: Number(args.patience),
  };
  const seeds = args.seeds!.split(',').map(Number);
  const outputScale = args['output-scale'] as OutputScale;
  if (!OUTPUT_SCALES.includes(outputScale)) throw new Error(`--output-scale ${outputScale}: expected ${OUTPUT_SCALES.join(', ')}`);
  const only = args.only ? new Set(args.only.split(',')) : null;
  const preset = args.preset! as PresetName<'din'>;
  presetArgs('din', preset); // throws on an unknown preset before any training
  const variants: (EmbedVariant | null)[] = [null, ...EMBED_VARIANTS, ...ABLATION_ONLY_VARIANTS].filter((v) => !only || only.has(v ? v.name : CONTROL));
  const loadT0 = performance.now();
  const trainSplit = await loadSplit(root, 'train');
  const valid = await loadSplit(root, 'valid');
  const inputs = await loadEmbedInputs(root);
  process.stderr.write(`loaded ${root} in ${((performance.now() - loadT0) / 1000).toFixed(1)} s\n`);
  const tags = itemInfoTags(inputs.features, inputs.numItems);
  let maxTag = 0;
  for (const t of tags) maxTag = Math.max(maxTag, t);
  const truth = hasItemTruth(root) ? readItemTruth(root) : null;
  const counts = new Int32Array(inputs.numItems + 1);
  for (const v of inputs.sequences!.values) counts[v]++;
  const eligible: number[] = [];
  for (let i = 1; i <= inputs.numItems; i++) if (counts[i] >= 5) eligible.push(i);
  const queries = Int32Array.from(rng('bench-embed/queries').sampleSorted(eligible.length, Math.min(1000, eligible.length)), (j) => eligible[j]);
  const cands = Int32Array.from({ length: inputs.numItems }, (_, i) => i + 1);
  const cache = createEmbedCache();
  const rows: Row[] = [];
  setProgressEnabled(false);
  for (const v of variants) {
    const name = v ? v.name : CONTROL;
    // Word2Vec on one thread: bit-reproducible vectors, so the table can be re-run.
    const vectors = v
      ? (await computeEmbedding(inputs, { outputScale, ...v.spec, word2vec: { threads: 1, ...v.spec.word2vec } }, { progress: false, cache })).vectors
      : new Float32Array((inputs.numItems + 1) * MICROLENS_DIMS.itemEmbDim);
    const table: ItemTable = {
      tags: { data: tags, rows: inputs.numItems + 1, cols: MICROLENS_DIMS.itemInfoTags },
      emb: { data: vectors, rows: inputs.numItems + 1, cols: MICROLENS_DIMS.itemEmbDim },
      tagVocab: Math.max(maxTag + 1, 2),
    };
    let topic = NaN;
    let community = NaN;
    if (truth && v) {
      const nb = topNeighbours(vectors, 128, queries, { k: 10, candidates: cands });
      topic = labelPrecision(nb, queries, 10, truth.topic);
      community = labelPrecision(nb, queries, 10, truth.community);
    }
    const aucs: number[] = [];
    let seconds = 0;
    let epochs = 0;
    for (const seed of seeds) {
      const model = createModel('din', preset, table, { seed });
      process.stderr.write(`${name} (seed ${seed})…\n`);
      const t0 = performance.now();
      const res = await train(model, { train: trainSplit, valid, itemTable: table }, { ...trainConfig, seed }, { progress: false });
      seconds += (performance.now() - t0) / 1000;
      epochs += res.epochs;
      aucs.push(res.best?.valid.auc ?? NaN);
      model.dispose();
      process.stderr.write(`  valid AUC ${aucs[aucs.length - 1].toFixed(4)} (${res.epochs} epochs, ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
    const mean = aucs.reduce((s, a) => s + a, 0) / aucs.length;
    rows.push({
      strategy: name,
      'valid AUC': Math.round(mean * 1e4) / 1e4,
      ...(seeds.length > 1 ? { 'AUC per seed': aucs.map((a) => a.toFixed(4)).join(' / ') } : {}),
      'topic p@10': Number.isFinite(topic) ? Math.round(topic * 1e4) / 1e4 : '',
      'community p@10': Number.isFinite(community) ? Math.round(community * 1e4) / 1e4 : '',
      epochs,
      'train s': Math.round(seconds),
    });
  }
  const command = `npm run bench:embed-ablation -- --data ${root} --epochs ${args.epochs} --batch-size ${args['batch-size']} --lr ${args.lr} --patience ${args.patience} --seeds ${args.seeds} --output-scale ${outputScale} --preset ${preset}${args.only ? ` --only '${args.only}'` : ''}${args.merge ? ' --merge' : ''}`;
  const mergeNotes: string[] = [];
  if (args.merge && existsSync(RESULTS_JSON)) {
    const previous = JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as { command: string; rows: Row[]; machine?: { date?: string } };
    if (settingsOf(previous.command) !== settingsOf(command)) {
      mergeNotes.push(`--merge: the previous results were made with other settings (\`${previous.command}\`); nothing kept.`);
    } else {
      const fresh = new Set(rows.map((r) => r.strategy));
      const kept = previous.rows.filter((r) => !fresh.has(r.strategy));
      const order = [CONTROL, ...EMBED_VARIANTS.map((v) => v.name), ...ABLATION_ONLY_VARIANTS.map((v) => v.name)];
      rows.push(...kept);
      rows.sort((x, y) => order.indexOf(String(x.strategy)) - order.indexOf(String(y.strategy)));
      if (kept.length) mergeNotes.push(`Rows kept from the previous run with the same settings (${previous.machine?.date ?? 'earlier'}): ${kept.map((r) => r.strategy).join('; ')}.`);
    }
  }
  const chance = truth ? `chance topic ${chanceLabelPrecision(queries, truth.topic, cands).toFixed(4)}, community ${chanceLabelPrecision(queries, truth.community, cands).toFixed(4)}` : '';
  writeResults({
    name: 'embedAblation',
    title: `Task 1 ablation: DIN (${preset}) valid AUC per item_emb_d128 strategy`,
    command,
    rows,
    notes: [
      `Data ${root}: ${trainSplit.rows} train rows, ${valid.rows} valid rows, ${inputs.numItems} items. DIN preset ${preset}, Adam lr ${args.lr}, batch ${args['batch-size']}, at most ${args.epochs} epochs, early stop after ${args.patience} evaluation(s) without gain; best valid AUC (mean over seeds ${args.seeds}).`,
      `Backend: ${backend.line}. Word2Vec on one thread (reproducible). Output scale: ${outputScale}${outputScale === 'unit-rms' ? ' (every table rescaled by one factor to a mean squared coordinate of 1)' : " (each strategy's own scale)"}.`,
      `Retrieval precision@10 on ${queries.length} items seen ≥ 5 times in item_seq; ${chance}.`,
      `Load average (1/5/15 min) at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}.`,
      ...mergeNotes,
    ],
  });
}

await main();
