/**
 * The model zoo on data/small: trains every model's small preset with the same settings through the real trainer
 * (`mmctr train`, one child process per model) into runs/zoo/<model>, then prints one table — read back from the run
 * folders with `compareRuns`, so `mmctr compare --runs runs/zoo` shows the same figures — and checks the issue's
 * bars on the measured numbers:
 *   (a) every DIN-family model (din, dcnDin, dinMhaSe) and transformerDcn beat historyBlind by ≥ 0.02 valid AUC;
 *   (b) historyBlind is ≥ 0.05 valid AUC below the oracle;
 *   (c) the best model is within 0.01 of the oracle.
 * Runs already in runs/zoo that were not retrained (`--only`) stay in the table. Rewrites bench/results/zoo.{md,json}.
 *
 *   npm run bench:zoo                                        all 7 models (~1–5 min each on 2 cores)
 *   node --import tsx bench/zoo.ts --only din,historyBlind   retrain these, table over everything in runs/zoo
 *   node --import tsx bench/zoo.ts --report                  no training: the table and the bars from runs/zoo
 *   node --import tsx bench/zoo.ts --only none --extra din:dinMatchSmall@runs/emb-fuse
 *                                                            extra runs: a model with another preset (and data root)
 *   node --import tsx bench/zoo.ts --only none --extra din:dinMatchSmall@runs/bench-ensemble/data-communities --extra-emb-reg 1e-3
 *                                                            the same on the Task 1 recipe's table, with its embedding L2
 *   flags: --data data/small --out runs/zoo --epochs 4 --batch-size 512 --lr 2e-3 --patience 1 --seed 20242025
 *          --seq-len N --backend <name> --only a,b --report --extra model:preset[@root],... --extra-emb-reg x
 * An extra run goes to <out>/<model>-<preset>[-<root's last folder>]; the same settings otherwise. Bar (a) compares
 * the standard runs (each model's small preset on --data); bar (c) takes the best run of the table, whatever its
 * preset and data root (a root made by `mmctr embed` holds another item table for the same interactions).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describeModels, isModelName } from '../src/models/registry';
import type { ModelName } from '../src/models/types';
import { compareRuns, findRuns, readOracleAuc, type RunRow } from '../src/train/compareRuns';
import { type RunConfig, readJson, runPath } from '../src/train/runFolder';
import { argValue, hasFlag, loadAverage, onlyList } from './lib/benchUtil';
import { writeResults, type Row } from './lib/results';

/** Models whose valid AUC must beat historyBlind's by `HISTORY_GAIN` (bar a). */
const HISTORY_MODELS: ModelName[] = ['din', 'dcnDin', 'dinMhaSe', 'transformerDcn'];
const HISTORY_GAIN = 0.02;
/** historyBlind at least this far below the oracle (bar b). */
const BLIND_GAP = 0.05;
/** The best model at most this far below the oracle (bar c). */
const BEST_GAP = 0.01;

const settings = {
  data: argValue('--data') ?? 'data/small',
  out: argValue('--out') ?? 'runs/zoo',
  epochs: argValue('--epochs') ?? '4',
  batchSize: argValue('--batch-size') ?? '512',
  lr: argValue('--lr') ?? '2e-3',
  patience: argValue('--patience') ?? '1',
  seed: argValue('--seed') ?? '20242025',
  seqLen: argValue('--seq-len'),
  backend: argValue('--backend'),
  /** Embedding L2 of the extra runs (the trainer's default otherwise). */
  extraEmbReg: argValue('--extra-emb-reg'),
};

const models = describeModels();
const only = onlyList()?.filter((m) => m !== 'none');
for (const m of only ?? []) if (!isModelName(m)) throw new Error(`--only: unknown model '${m}' (known: ${models.map((d) => d.name).join(', ')})`);

/** One training of the zoo: a model, its preset, the data root and the run folder's name under --out. */
interface ZooRun {
  name: ModelName;
  preset: string;
  data: string;
  run: string;
  extra?: boolean;
}

/** `--extra model:preset[@root],...` → extra runs named <model>-<preset>[-<basename(root)>]. */
function parseExtra(value: string | undefined): ZooRun[] {
  if (!value) return [];
  return value.split(',').map((item) => {
    const m = /^([^:@]+):([^:@]+)(?:@(.+))?$/.exec(item.trim());
    if (!m || !isModelName(m[1])) throw new Error(`--extra ${item}: expected model:preset[@data root] with a known model`);
    const d = models.find((x) => x.name === m[1])!;
    if (!d.presets.includes(m[2])) throw new Error(`--extra ${item}: unknown preset '${m[2]}' (known: ${d.presets.join(', ')})`);
    const data = m[3] ?? settings.data;
    const run = `${m[1]}-${m[2]}${m[3] ? `-${path.basename(path.resolve(m[3]))}` : ''}`;
    return { name: d.name, preset: m[2], data, run, extra: true };
  });
}

// In --only order (put slow models last), else table order; then the extra runs.
const standard = (hasFlag('--report') ? [] : only ? only.map((m) => models.find((d) => d.name === m)!) : models).map(
  (d): ZooRun => ({ name: d.name, preset: d.smallPreset, data: settings.data, run: d.name }),
);
const toTrain: ZooRun[] = [...standard, ...(hasFlag('--report') ? [] : parseExtra(argValue('--extra')))];
const notes: string[] = [];
const loadBefore = loadAverage();

for (const d of toTrain) {
  const args = [
    'bin/mmctr.mjs', 'train',
    '--model', d.name, '--preset', d.preset,
    '--data', d.data,
    '--out', path.join(settings.out, d.run), '--overwrite',
    '--epochs', settings.epochs, '--batch-size', settings.batchSize, '--lr', settings.lr,
    '--patience', settings.patience, '--seed', settings.seed,
    ...(settings.seqLen ? ['--seq-len', settings.seqLen] : []),
    ...(settings.backend ? ['--backend', settings.backend] : []),
    ...(d.extra && settings.extraEmbReg ? ['--emb-reg', settings.extraEmbReg] : []),
  ];
  console.log(`\n== ${d.run} (${d.name}, ${d.preset}); load ${loadAverage()}\n$ node ${args.join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  const minutes = ((Date.now() - t0) / 60_000).toFixed(1);
  if (r.status !== 0) notes.push(`${d.run}: training failed (exit ${r.status ?? r.signal}) after ${minutes} min`);
  else console.log(`${d.run}: ${minutes} min`);
}

const runDirs = findRuns(settings.out);
if (runDirs.length === 0) throw new Error(`${settings.out}: no run folders; train first (without --report)`);
const runs = compareRuns(runDirs);
const oracle = readOracleAuc(path.join(settings.data, 'oracle', 'ground_truth.json')) ?? runs.find((r) => r.oracleAuc !== null)?.oracleAuc ?? null;
// The standard run of each model (folder named after the model) for bar (a); extra runs only count for bar (c).
const byModel = new Map<string, RunRow>(runs.filter((r) => path.basename(r.run) === r.model).map((r) => [r.model, r]));
const missing = models.filter((d) => !byModel.has(d.name)).map((d) => d.name);
const f5 = (x: number | null) => (x === null ? '-' : x.toFixed(5));

/** A run's training settings in short, from its config.json (runs kept from earlier may differ from the flags). */
const settingsOf = (run: string): string => {
  const c = readJson<RunConfig>(runPath(path.join(settings.out, run), 'config'));
  const root = typeof c.info.dataRoot === 'string' && path.resolve(c.info.dataRoot) !== path.resolve(settings.data) ? ` data ${c.info.dataRoot}` : '';
  const embReg = c.train.embeddingRegularizer !== 1e-6 ? ` embL2 ${c.train.embeddingRegularizer}` : '';
  return `b${c.train.batchSize} lr${c.train.learningRate} e≤${c.train.epochs} p${c.train.patience} s${c.train.seed}${typeof c.info.seqLen === 'number' ? ` L${c.info.seqLen}` : ''}${embReg}${root}`;
};

const rows: Row[] = runs.map((r) => ({
  model: r.model,
  preset: r.preset ?? '-',
  params: r.params,
  'valid AUC': f5(r.auc),
  logloss: f5(r.logloss),
  gAUC: f5(r.gauc),
  'gap to oracle': r.gap === null ? '-' : r.gap.toFixed(5),
  'samples/s': r.samplesPerSecond === null ? '-' : Math.round(r.samplesPerSecond),
  'best/epochs': `${r.bestEpoch ?? '-'}/${r.epochs}`,
  status: r.status,
  settings: settingsOf(r.run),
  retrained: toTrain.some((d) => d.run === path.basename(r.run)) ? 'yes' : 'no (earlier run)',
}));

// The bars, on the measured numbers only; a bar whose runs are missing is "not measured", never "met".
const bars: string[] = [];
const blind = byModel.get('historyBlind')?.auc ?? null;
const barA = HISTORY_MODELS.map((m) => {
  const auc = byModel.get(m)?.auc ?? null;
  if (auc === null || blind === null) return { m, ok: null as boolean | null, text: `${m}: not measured` };
  const gain = auc - blind;
  return { m, ok: gain >= HISTORY_GAIN, text: `${m} ${gain >= 0 ? '+' : ''}${gain.toFixed(4)}` };
});
const aState = barA.some((x) => x.ok === false) ? 'NOT met' : barA.some((x) => x.ok === null) ? 'not fully measured' : 'met';
bars.push(`(a) DIN family + transformerDcn beat historyBlind by ≥ ${HISTORY_GAIN} valid AUC: **${aState}** (${barA.map((x) => x.text).join('; ')})`);
if (blind === null || oracle === null) bars.push(`(b) historyBlind ≥ ${BLIND_GAP} below the oracle: **not measured**`);
else bars.push(`(b) historyBlind ≥ ${BLIND_GAP} below the oracle: **${oracle - blind >= BLIND_GAP ? 'met' : 'NOT met'}** (oracle ${oracle.toFixed(4)} − historyBlind ${blind.toFixed(4)} = ${(oracle - blind).toFixed(4)})`);
const best = runs.find((r) => r.auc !== null) ?? null;
if (!best || best.auc === null || oracle === null) bars.push(`(c) best model within ${BEST_GAP} of the oracle: **not measured**`);
else bars.push(`(c) best model within ${BEST_GAP} of the oracle: **${oracle - best.auc <= BEST_GAP ? 'met' : 'NOT met'}** (best ${best.model} (${path.basename(best.run)}) ${best.auc.toFixed(4)}, oracle ${oracle.toFixed(4)}, gap ${(oracle - best.auc).toFixed(4)})`);

const cmd = `node --import tsx bench/zoo.ts ${process.argv.slice(2).join(' ')}`.trim();
writeResults({
  name: 'zoo',
  title: `Model zoo on ${settings.data}: small presets, same settings`,
  command: cmd,
  rows,
  notes: [
    ...bars,
    `Settings: batch ${settings.batchSize}, lr ${settings.lr}, epochs ≤ ${settings.epochs}, patience ${settings.patience}, seed ${settings.seed}${settings.seqLen ? `, history ${settings.seqLen}` : ''}; the trainer's other defaults (Adam, L2 1e-6 on embeddings unless the settings column says otherwise, clip 10, lr × 0.1 on plateau). Runs: ${settings.out}/<model> (same table: \`mmctr compare --runs ${settings.out}\`).`,
    `Oracle valid AUC (${path.join(settings.data, 'oracle', 'ground_truth.json')}): ${oracle === null ? 'absent' : oracle.toFixed(6)}. Gap to oracle = oracle − valid AUC.`,
    `Backend: ${[...new Set(runs.map((r) => r.backend))].join(', ')}. samples/s = train rows per second of training time (evaluation excluded), with other processes on the 2 cores (load before ${loadBefore}, after ${loadAverage()}).`,
    ...(missing.length ? [`Not in ${settings.out} (not trained): ${missing.join(', ')}.`] : []),
    ...notes,
  ],
});
