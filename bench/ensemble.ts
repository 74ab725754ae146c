/**
 * Seed ensembles: one model trained with several seeds through the real CLI (`mmctr train`, one child process per
 * run), on a data root or on a Task 1 recipe's table built first (`mmctr embed --recipe <r> --w2v-threads 1`), then
 * combined with `runEnsemble` (what `mmctr ensemble` runs): the mean of the first k members' logits for k = 2..N, and
 * the mean of all N probabilities. Rewrites bench/results/ensemble.{md,json}.
 *
 *   npm run bench:ensemble        defaults: --data data/small --recipe communities --model din --preset dinMatchSmall
 *                                 --emb-reg 1e-3 --seeds 20242025,1,2,3,4 --epochs 4 --batch-size 512 --lr 2e-3
 *                                 --patience 1 --out runs/bench-ensemble  (~2 min per member on 2 cores)
 *   node --import tsx bench/ensemble.ts --reuse    keep members already trained (a result.json in their folder)
 *   node --import tsx bench/ensemble.ts --recipe none --model dcnDin --preset dcnDinSmall --emb-reg 1e-6
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { selectBackend } from '../src/engine/backend';
import { runEnsemble } from '../src/train/ensembleRun';
import { compareRuns, readOracleAuc } from '../src/train/compareRuns';
import { runPath } from '../src/train/runFolder';
import { argValue, hasFlag, loadAverage } from './lib/benchUtil';
import { writeResults, type Row } from './lib/results';

const s = {
  data: argValue('--data') ?? 'data/small',
  recipe: argValue('--recipe') ?? 'communities',
  model: argValue('--model') ?? 'din',
  preset: argValue('--preset') ?? 'dinMatchSmall',
  embReg: argValue('--emb-reg') ?? '1e-3',
  seeds: (argValue('--seeds') ?? '20242025,1,2,3,4').split(',').map((x) => x.trim()),
  epochs: argValue('--epochs') ?? '4',
  batchSize: argValue('--batch-size') ?? '512',
  lr: argValue('--lr') ?? '2e-3',
  patience: argValue('--patience') ?? '1',
  out: argValue('--out') ?? 'runs/bench-ensemble',
};
if (s.seeds.length < 2) throw new Error('--seeds: give at least two');
const loadBefore = loadAverage();

function cli(args: string[]): void {
  console.log(`$ node bin/mmctr.mjs ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['bin/mmctr.mjs', ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`mmctr ${args[0]} failed (exit ${r.status ?? r.signal})`);
}

let dataRoot = s.data;
let tableNote = `the data root's own item_emb_d128 (${s.data})`;
if (s.recipe !== 'none') {
  dataRoot = path.join(s.out, `data-${s.recipe}`);
  const t0 = Date.now();
  const reused = hasFlag('--reuse') && existsSync(path.join(dataRoot, 'embed.json'));
  if (!reused) cli(['embed', '--data', s.data, '--out', dataRoot, '--recipe', s.recipe, '--w2v-threads', '1', '--no-progress']);
  tableNote = `\`mmctr embed --data ${s.data} --recipe ${s.recipe} --w2v-threads 1\` (${dataRoot}; ${reused ? 'built by an earlier invocation, reused' : `${((Date.now() - t0) / 1000).toFixed(0)} s`})`;
}

const members = s.seeds.map((seed) => path.join(s.out, `${s.model}-${s.preset}-s${seed}`));
for (const [i, seed] of s.seeds.entries()) {
  if (hasFlag('--reuse') && existsSync(runPath(members[i], 'result'))) continue; // trained by an earlier invocation
  cli([
    'train', '--model', s.model, '--preset', s.preset, '--data', dataRoot, '--out', members[i], '--overwrite',
    '--epochs', s.epochs, '--batch-size', s.batchSize, '--lr', s.lr, '--patience', s.patience, '--emb-reg', s.embReg, '--seed', seed,
  ]);
}

const backend = await selectBackend({});
const oracle = readOracleAuc(path.join(s.data, 'oracle', 'ground_truth.json'));
const f5 = (x: number | null) => (x === null ? '-' : x.toFixed(5));
const gap = (auc: number) => (oracle === null ? '-' : (oracle - auc).toFixed(5));
const rows: Row[] = compareRuns(members)
  .sort((a, b) => members.indexOf(path.join(s.out, a.run)) - members.indexOf(path.join(s.out, b.run)))
  .map((r) => ({ what: `member ${r.run}`, members: 1, combine: '-', 'valid AUC': f5(r.auc), logloss: f5(r.logloss), gAUC: f5(r.gauc), 'gap to oracle': r.auc === null ? '-' : gap(r.auc) }));
const combos: { k: number; combine: 'logit' | 'prob' }[] = [
  ...Array.from({ length: members.length - 1 }, (_, i) => ({ k: i + 2, combine: 'logit' as const })),
  { k: members.length, combine: 'prob' },
];
for (const { k, combine } of combos) {
  const t0 = performance.now();
  const rec = await runEnsemble(members.slice(0, k), {
    outDir: path.join(s.out, `ensemble-${combine}-${k}`),
    combine,
    submission: k === members.length && combine === 'logit',
    backend: backend.name,
  });
  console.log(`${combine} mean of ${k}: valid AUC ${rec.valid.auc.toFixed(5)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  rows.push({ what: `ensemble of the first ${k}`, members: k, combine, 'valid AUC': f5(rec.valid.auc), logloss: f5(rec.valid.logloss), gAUC: f5(rec.valid.gauc), 'gap to oracle': gap(rec.valid.auc) });
}

const aucs = rows.filter((r) => r.members === 1).map((r) => Number(r['valid AUC']));
const all = rows.find((r) => r.members === members.length && r.combine === 'logit')!;
writeResults({
  name: 'ensemble',
  title: `Seed ensembles of ${s.model} (${s.preset}) on ${s.data}`,
  command: `node --import tsx bench/ensemble.ts ${process.argv.slice(2).join(' ')}`.trim(),
  rows,
  notes: [
    `Members: ${members.length} seeds (${s.seeds.join(', ')}) of ${s.model} ${s.preset}, trained by \`mmctr train\` with batch ${s.batchSize}, lr ${s.lr}, epochs ≤ ${s.epochs}, patience ${s.patience}, embedding L2 ${s.embReg}; item table: ${tableNote}.`,
    `Single members ${Math.min(...aucs).toFixed(4)}–${Math.max(...aucs).toFixed(4)} valid AUC (mean ${(aucs.reduce((a, b) => a + b, 0) / aucs.length).toFixed(4)}); the logit mean of all ${members.length}: ${all['valid AUC']}, +${(Number(all['valid AUC']) - Math.max(...aucs)).toFixed(4)} over the best member.`,
    `Oracle valid AUC (${path.join(s.data, 'oracle', 'ground_truth.json')}): ${oracle === null ? 'absent' : oracle.toFixed(6)}; bar (c) of issue 3 needs ${oracle === null ? '-' : (oracle - 0.01).toFixed(4)}.`,
    `Ensembles: runEnsemble (src/train/ensembleRun.ts, = \`mmctr ensemble --runs … --combine logit|prob\`) over the first k members, predicted on ${backend.name}; folders ${s.out}/ensemble-<combine>-<k> (\`mmctr compare --runs ${s.out}\` lists them); the submission of the full logit ensemble in ${s.out}/ensemble-logit-${members.length}/submission.`,
    `Load average before ${loadBefore}, after ${loadAverage()} (2 cores).`,
  ],
});
