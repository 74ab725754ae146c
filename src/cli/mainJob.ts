/**
 * `mmctr main`: the main job on the embedded default data, end to end.
 *
 * 1. The default data set (synthetic `small`, seed 20242025, in data/small) is generated on first use.
 * 2. Every file is validated.
 * 3. Statistics of the splits and the oracle AUC (the AUC of the true click probabilities) are printed.
 * 4. Task 1: the item embeddings of the `communities` recipe (`mmctr embed --recipe communities`) are built into a
 *    data root of their own (the splits linked, item_info.parquet new); `--item-emb shipped` skips this and trains
 *    on the data root's own item_emb_d128.
 * 5. The DCN-DIN hybrid is trained on them; its valid AUC is printed next to the oracle's.
 * 6. The test split is predicted and written as a challenge submission (prediction.csv + zip).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import { loadSplit } from '../data/load';
import { MICROLENS_DIMS } from '../data/schema';
import { splitStats } from '../data/stats';
import { DEFAULT_SYNTH_SEED, SYNTH_SCALES, synthesize, type SynthScale } from '../data/synth';
import { validateDataset } from '../data/validateDataset';
import { compareRuns, formatRunTable, readOracleAuc } from '../train/compareRuns';
import { runEmbed } from './embed';
import { runPredict } from './predict';
import { runTrain } from './train';
import { formatReportLine } from './validate';

export interface MainJobOptions {
  /** Data root. Default data/<scale>. */
  data?: string;
  /** Scale generated when the data root holds no data. Default 'small'. */
  scale?: string;
  /** Seed of the generated data. Default 20242025. */
  seed?: string;
  /** Train the CTR model (step 4–5). Default true; `--no-train` stops after the statistics. */
  train?: boolean;
  /** Epochs of the CTR model at most (early stopping may end sooner). Default 3. */
  epochs?: string;
  /** Rows per optimiser step. Default 512: on this data more steps beat bigger batches, and it fits the wasm heap. */
  batchSize?: string;
  /** Adam's learning rate. Default 2e-3. */
  lr?: string;
  /** Run folder. Default runs/main-dcnDin. */
  out?: string;
  /** Item vectors to train on: 'task1' (build the communities recipe's table) or 'shipped'. Default 'task1'. */
  itemEmb?: string;
  /** Data root the Task 1 table is written to. Default runs/main-task1. */
  task1Out?: string;
  /** Print no progress lines on stderr. */
  progress?: boolean;
}

export const ITEM_EMB_SOURCES = ['task1', 'shipped'] as const;
export type ItemEmbSource = (typeof ITEM_EMB_SOURCES)[number];

/**
 * The DCN-DIN hybrid's settings in the main job, by item vectors. On a Task 1 table the signal fills all 128
 * coordinates, so the item_emb projection keeps them (pretrainedDim 128), and the per-item embeddings want a stronger
 * L2. Measured on data/small, 3 epochs: 0.8224 valid AUC at embedding L2 1e-6, 0.8272 at 1e-3 (a 4th epoch: 0.8274);
 * dcnDinSmall's own pretrainedDim 32 on the same table, 4 epochs: 0.8044.
 */
const MAIN_SETTINGS: Record<ItemEmbSource, { args: Record<string, unknown>; embReg?: string }> = {
  task1: { args: { pretrainedDim: 128 }, embReg: '1e-3' },
  shipped: { args: {} },
};

const oracleFile = (root: string) => path.join(root, 'oracle', 'ground_truth.json');
const f4 = (x: number | null) => (x === null ? '-' : x.toFixed(4));

export async function runMainJob(opts: MainJobOptions): Promise<void> {
  const scale = (opts.scale ?? 'small') as SynthScale;
  if (!SYNTH_SCALES.includes(scale)) throw new MmctrError(`--scale must be one of ${SYNTH_SCALES.join(', ')}, got '${opts.scale}'`);
  const seed = Number(opts.seed ?? DEFAULT_SYNTH_SEED);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new MmctrError(`--seed must be a non-negative integer, got '${opts.seed}'`);
  const itemEmb = (opts.itemEmb ?? 'task1') as ItemEmbSource;
  if (!ITEM_EMB_SOURCES.includes(itemEmb)) throw new MmctrError(`--item-emb ${opts.itemEmb}: expected one of ${ITEM_EMB_SOURCES.join(', ')}`);
  const root = opts.data ?? path.join('data', scale);
  const out = process.stdout;

  out.write(`== 1. data: ${root}\n`);
  if (!existsSync(oracleFile(root))) {
    out.write(`no data set there yet: generating the synthetic '${scale}' data set (seed ${seed})\n`);
    const report = await synthesize({ outDir: root, scale, seed });
    out.write(`generated in ${report.totalSeconds.toFixed(1)} s\n`);
  }

  out.write(`\n== 2. validation\n`);
  const reports = await validateDataset(root, { onTable: (r) => out.write(formatReportLine(root, r) + '\n') });
  const invalid = reports.filter((r) => r.status === 'invalid');
  if (invalid.length > 0) throw new MmctrError(`invalid data: ${invalid[0].error?.message ?? invalid[0].table}`);

  out.write(`\n== 3. statistics\n`);
  for (const split of ['train', 'valid', 'test'] as const) {
    const s = splitStats(await loadSplit(root, split, { seqLen: MICROLENS_DIMS.storedSeqLen }));
    const h = s.historyLength;
    out.write(
      `${split.padEnd(5)}  rows ${s.rows.toLocaleString('en-US').padStart(9)}  ` +
        `positive rate ${s.positiveRate === null ? '(no labels)' : `${(100 * s.positiveRate).toFixed(2)}%`}  ` +
        `users ${s.users.toLocaleString('en-US')}  items ${s.items.toLocaleString('en-US')}  ` +
        `history length min ${h.min} / median ${h.median} / mean ${h.mean.toFixed(2)} / max ${h.max}\n`,
    );
  }
  const oracle = readOracleAuc(oracleFile(root));
  out.write(`oracle AUC (valid, true click probabilities): ${f4(oracle)}\n`);

  if (opts.train === false) return;
  let trainRoot = root;
  if (itemEmb === 'task1') {
    trainRoot = opts.task1Out ?? path.join('runs', 'main-task1');
    out.write(`\n== 4. Task 1: item embeddings (mmctr embed --recipe communities --w2v-threads 1) → ${trainRoot}\n`);
    // One Word2Vec thread: bit-reproducible, so the same seed prints the same AUC.
    await runEmbed({ data: root, out: trainRoot, recipe: 'communities', w2vThreads: '1', progress: opts.progress });
  } else {
    out.write(`\n== 4. Task 1 skipped (--item-emb shipped): training on ${root}'s own item_emb_d128\n`);
  }

  const runDir = opts.out ?? path.join('runs', 'main-dcnDin');
  const { args, embReg } = MAIN_SETTINGS[itemEmb];
  const extras = [...(Object.keys(args).length ? [JSON.stringify(args)] : []), ...(embReg ? [`embedding L2 ${embReg}`] : [])];
  out.write(`\n== 5. training the DCN-DIN hybrid (dcnDinSmall${extras.length ? ` + ${extras.join(', ')}` : ''}) → ${runDir}\n`);
  await runTrain({
    model: 'dcnDin',
    preset: 'dcnDinSmall',
    ...(Object.keys(args).length ? { args: JSON.stringify(args) } : {}),
    data: trainRoot,
    out: runDir,
    overwrite: true,
    epochs: opts.epochs ?? '3',
    batchSize: opts.batchSize ?? '512',
    lr: opts.lr ?? '2e-3',
    ...(embReg ? { embReg } : {}),
  });

  out.write(`\n== 6. submission\n`);
  await runPredict({ run: runDir });

  const rows = compareRuns([runDir]);
  out.write(`\n== result\n${formatRunTable(rows)}`);
  const r = rows[0];
  out.write(`DCN-DIN valid AUC ${f4(r.auc)} vs oracle AUC ${f4(r.oracleAuc)} (gap ${f4(r.gap)})\n`);
}

export function register(program: Command): void {
  program
    .command('main')
    .description('the main job: generate (first use) and validate the default data, print its statistics and oracle AUC, build the Task 1 item embeddings, train the DCN-DIN hybrid on them, write a submission')
    .option('--data <root>', 'data root (default data/<scale>; generated when it holds no data set)')
    .option('--scale <scale>', `scale generated on first use: ${SYNTH_SCALES.join(' | ')}`, 'small')
    .option('--seed <n>', 'seed of the generated data', String(DEFAULT_SYNTH_SEED))
    .option('--epochs <n>', 'training epochs of the DCN-DIN hybrid at most', '3')
    .option('--batch-size <n>', 'rows per optimiser step', '512')
    .option('--lr <x>', "Adam's learning rate", '2e-3')
    .option('--out <dir>', 'run folder of the trained model (default runs/main-dcnDin)')
    .option('--item-emb <source>', `item vectors to train on: task1 = build the Task 1 table (mmctr embed --recipe communities) first; shipped = the data root's own item_emb_d128 (default task1)`)
    .option('--task1-out <dir>', 'data root the Task 1 table is written to (default runs/main-task1)')
    .option('--no-progress', 'print no progress lines on stderr')
    .option('--no-train', 'stop after the statistics and the oracle AUC')
    .action(async (opts: MainJobOptions) => runMainJob(opts));
}
