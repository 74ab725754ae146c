/**
 * `npm run bench:synth [-- --scale tiny|small|full] [--out <dir>] [--seed <n>]`: times `mmctr synth` at one scale
 * (default small; full only when asked) and records seconds, peak RSS and the generated data's figures. Rows of
 * the other scales already in bench/results/synth.json are kept, so the file holds the latest run of each scale.
 *
 * Targets: full scale in ≤ 15 minutes on 2 cores within 12 GB of memory.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { synthesize, SYNTH_SCALES, type SynthScale } from '../src/data/synth';
import { writeResults, type Row } from './lib/results';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const scale = (arg('--scale') ?? 'small') as SynthScale;
if (!SYNTH_SCALES.includes(scale)) throw new Error(`--scale must be one of ${SYNTH_SCALES.join(', ')}`);
const out = arg('--out') ?? `data/${scale}`;
const seed = arg('--seed') ? Number(arg('--seed')) : undefined;

const cpu0 = process.cpuUsage();
const report = await synthesize({ outDir: out, scale, seed, progress: true });
const cpu = process.cpuUsage(cpu0);
const mib = report.files.reduce((s, f) => s + f.bytes, 0) / 2 ** 20;
const r = report.diagnostics.retrieval;
const row: Row = {
  scale,
  seconds: report.totalSeconds,
  cpuSeconds: Math.round((cpu.user + cpu.system) / 1e5) / 10,
  peakRssMiB: report.peakRssMiB,
  items: report.sizes.numItems,
  users: report.sizes.numUsers,
  trainRows: report.sizes.trainRows,
  itemSeqRows: report.sizes.itemSeqRows,
  outputMiB: Math.round(mib * 10) / 10,
  oracleAucValid: report.oracleAuc.valid,
  oracleAucTest: report.oracleAuc.test,
  meanPooledAucTest: report.diagnostics.auc.test.meanPooled,
  noHistoryAucTest: report.diagnostics.auc.test.noHistory,
  itemMeanPAucTest: report.diagnostics.auc.test.itemMeanP,
  topicP10Fused: r?.topic.itemEmbD128 ?? '',
  topicP10Text: r?.topic.text ?? '',
  topicP10Image: r?.topic.image ?? '',
  communityP10Content: r?.community.itemEmbD128 ?? '',
  communityP10Cooccur: r?.community.cooccurrence ?? '',
  steps: Object.entries(report.timings)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s / ${report.peakRssByStep[k]} MiB`)
    .join('; '),
};

const jsonPath = path.resolve('bench/results/synth.json');
let rows: Row[] = [];
if (existsSync(jsonPath)) {
  try {
    rows = (JSON.parse(readFileSync(jsonPath, 'utf8')).rows as Row[]).filter((x) => x.scale !== scale);
  } catch {
    rows = [];
  }
}
rows.push(row);
rows.sort((a, b) => SYNTH_SCALES.indexOf(a.scale as SynthScale) - SYNTH_SCALES.indexOf(b.scale as SynthScale));
const full = rows.find((x) => x.scale === 'full');
writeResults({
  name: 'synth',
  title: 'Synthetic data generation (mmctr synth)',
  command: 'npm run bench:synth -- --scale <tiny|small|full>',
  rows,
  notes: [
    'seconds = wall time of synthesize() in-process; ' +
      'cpuSeconds = user + system CPU time of the process (polars writes use several threads).',
    'peakRssMiB = process max RSS (JS heap + native polars buffers), the figure `/usr/bin/time -v` reports.',
    'steps = wall seconds of each step / process peak RSS at its end (the step that raised it is where memory peaked).',
    'Each row is the latest run of its scale; runs on a shared 2-core machine are slower when other jobs run.',
    full
      ? `full-scale target ≤ 900 s and ≤ 12,288 MiB: ${Number(full.seconds) <= 900 && Number(full.peakRssMiB) <= 12_288 ? 'met' : 'NOT met'} (${full.seconds} s, ${full.peakRssMiB} MiB).`
      : 'full scale not measured yet (npm run bench:synth -- --scale full).',
  ],
});
