/**
 * `mmctr train`: trains a model of the zoo on a data root into a run folder (see src/train/runFolder.ts), or
 * resumes one. Ctrl+C stops between two steps; the last checkpoint stays and `--resume` continues from it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import { MICROLENS_DIMS } from '../data/schema';
import { selectBackend, parseBackendName, BACKEND_NAMES } from '../engine/backend';
import { MODEL_NAMES, createModel, describeModels, isModelName, presetArgs, type ModelArgsMap } from '../models/registry';
import type { ModelName } from '../models/types';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../train/config';
import { loadTrainingData } from '../train/data';
import { type RunConfig, RUN_FILES, readJson, runPath } from '../train/runFolder';
import { train } from '../train/trainer';
import { DATA_ROOT_HELP, parseDataRoot } from './validate';

export interface TrainCommandOptions {
  /** Model name. Required for a fresh run; read from config.json with --resume. */
  model?: string;
  /** Preset name. Default: the model's small preset (`describeModels()[i].smallPreset`). */
  preset?: string;
  /** JSON object of model arguments over the preset. Default none. */
  args?: string;
  /** Data root. Default with --resume: the run's. */
  data?: string;
  /** Run folder. Default runs/<model>-<preset>-<timestamp>; required with --resume. */
  out?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  /** Seed of the model initialisation and of the shuffle. Default 20242025. */
  seed?: string;
  /** History length. Default 64. */
  seqLen?: string;
  patience?: string;
  embReg?: string;
  netReg?: string;
  /** Evaluate every N steps instead of every epoch. */
  evalSteps?: string;
  resume?: boolean;
  /** Overwrite a run folder that already holds a run. Default false. */
  overwrite?: boolean;
  backend?: string;
}

function parseNumber(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new MmctrError(`${flag} ${value}: expected ${integer ? 'an integer' : 'a number'}`);
  }
  return n;
}

function parseArgsJson(value: string | undefined): Record<string, unknown> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new MmctrError(`--args ${value}: not valid JSON`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new MmctrError(`--args ${value}: expected a JSON object`);
  return parsed as Record<string, unknown>;
}

/** The train-config fields the flags set (undefined = not given). */
function trainFlags(opts: TrainCommandOptions): Partial<TrainConfig> {
  const evalSteps = parseNumber('--eval-steps', opts.evalSteps, true);
  return {
    epochs: parseNumber('--epochs', opts.epochs, true),
    batchSize: parseNumber('--batch-size', opts.batchSize, true),
    learningRate: parseNumber('--lr', opts.lr, false),
    seed: parseNumber('--seed', opts.seed, true),
    patience: parseNumber('--patience', opts.patience, true),
    embeddingRegularizer: parseNumber('--emb-reg', opts.embReg, false),
    netRegularizer: parseNumber('--net-reg', opts.netReg, false),
    evalEvery: evalSteps !== undefined ? { steps: evalSteps } : undefined,
  };
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export async function runTrain(opts: TrainCommandOptions): Promise<void> {
  const flags = trainFlags(opts);
  let name: ModelName;
  let modelArgs: Record<string, unknown>;
  let preset: string | undefined;
  let config: Partial<TrainConfig>;
  let seqLen = parseNumber('--seq-len', opts.seqLen, true);
  let dataRoot: string;
  let outDir: string;
  let modelSeed: number;

  if (opts.resume) {
    if (!opts.out) throw new MmctrError('--resume needs --out <run folder>');
    outDir = opts.out;
    if (!fs.existsSync(runPath(outDir, 'latest'))) throw new MmctrError(`--resume: ${runPath(outDir, 'latest')} does not exist (nothing to resume)`);
    const saved = readJson<RunConfig>(runPath(outDir, 'config'));
    const changed = Object.entries(flags).filter(([k, v]) => v !== undefined && k !== 'epochs');
    if (changed.length || opts.model || opts.preset || opts.args || opts.seqLen) {
      throw new MmctrError('--resume continues the run as configured in its config.json; only --epochs (and --data, --backend) may be given');
    }
    if (!isModelName(saved.model.name)) throw new MmctrError(`${runPath(outDir, 'config')}: unknown model ${saved.model.name}`);
    name = saved.model.name;
    modelArgs = saved.model.config;
    preset = typeof saved.info.preset === 'string' ? saved.info.preset : undefined;
    config = { ...saved.train, ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}) };
    seqLen = typeof saved.info.seqLen === 'number' ? saved.info.seqLen : undefined;
    dataRoot = parseDataRoot(opts.data ?? (typeof saved.info.dataRoot === 'string' ? saved.info.dataRoot : undefined));
    modelSeed = typeof saved.info.modelSeed === 'number' ? saved.info.modelSeed : saved.seed;
  } else {
    if (!opts.model) throw new MmctrError(`--model <name> is required (one of: ${MODEL_NAMES.join(', ')})`);
    if (!isModelName(opts.model)) throw new MmctrError(`--model ${opts.model}: unknown model (one of: ${MODEL_NAMES.join(', ')})`);
    name = opts.model;
    preset = opts.preset ?? describeModels().find((d) => d.name === name)!.smallPreset;
    modelArgs = { ...(presetArgs(name, preset) as object), ...parseArgsJson(opts.args) };
    config = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
    dataRoot = parseDataRoot(opts.data);
    outDir = opts.out ?? path.join('runs', `${name}-${preset}-${timestamp()}`);
    if (fs.existsSync(runPath(outDir, 'config')) && !opts.overwrite) {
      throw new MmctrError(`${outDir} already holds a run (${RUN_FILES.config}); use --resume to continue it, --overwrite to replace it, or another --out`);
    }
    modelSeed = config.seed ?? DEFAULT_TRAIN_CONFIG.seed;
  }
  seqLen ??= MICROLENS_DIMS.modelSeqLen;

  const backend = await selectBackend(opts.backend !== undefined ? { force: parseBackendName(opts.backend, '--backend'), forceLabel: '--backend' } : {});
  if (opts.resume) {
    const was = readJson<RunConfig>(runPath(outDir, 'config')).backend;
    if (was !== backend.tfjsName) {
      process.stderr.write(`warning: the run was started on backend ${was}, it continues on ${backend.tfjsName}: the result may differ from an uninterrupted run\n`);
    }
  }
  const data = await loadTrainingData(dataRoot, { seqLen });
  const model = createModel(name, modelArgs as ModelArgsMap[typeof name], data.itemTable, { seed: modelSeed });
  process.stderr.write(`model: ${name}${preset ? ` (${preset})` : ''}, ${model.paramCount().toLocaleString('en-US')} parameters; run folder: ${outDir}\n`);

  const stopper = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ninterrupt: stopping after the current step (Ctrl+C again to quit at once)\n');
    stopper.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  try {
    const result = await train(model, data, config, {
      runDir: outDir,
      resume: opts.resume ?? false,
      signal: stopper.signal,
      info: { preset, args: parseArgsJson(opts.args), dataRoot: path.resolve(dataRoot), seqLen, modelSeed, backendLine: backend.line },
    });
    const b = result.best;
    process.stdout.write(
      `${outDir}: ${result.stopReason === 'earlyStop' ? 'early stop' : 'done'} after ${result.steps} steps; ` +
        (b ? `best epoch ${b.epoch}: valid AUC ${b.valid.auc.toFixed(6)}, logloss ${b.valid.logloss.toFixed(6)}${b.valid.gauc !== null ? `, gAUC ${b.valid.gauc.toFixed(6)}` : ''}\n` : 'no evaluation\n'),
    );
  } finally {
    process.removeListener('SIGINT', onSigint);
    model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Train a CTR model on a data root into a run folder (config.json, metrics.jsonl, checkpoint/, result.json)')
    .option('--model <name>', `model: ${MODEL_NAMES.join(' | ')}`)
    .option('--preset <name>', "preset of the model (default: the model's small preset, for 2 CPU cores)")
    .option('--args <json>', 'model arguments over the preset, as a JSON object')
    .option('--data <root>', DATA_ROOT_HELP)
    .option('--out <dir>', 'run folder (default runs/<model>-<preset>-<timestamp>)')
    .option('--epochs <n>', `epochs at most (default ${DEFAULT_TRAIN_CONFIG.epochs}; early stopping ends sooner)`)
    .option('--batch-size <n>', `rows per step (default ${DEFAULT_TRAIN_CONFIG.batchSize})`)
    .option('--lr <x>', `Adam learning rate (default ${DEFAULT_TRAIN_CONFIG.learningRate})`)
    .option('--seed <n>', `seed of the model initialisation and the shuffle (default ${DEFAULT_TRAIN_CONFIG.seed})`)
    .option('--seq-len <n>', `history positions kept (default ${MICROLENS_DIMS.modelSeqLen})`)
    .option('--patience <n>', `evaluations without gain before stopping (default ${DEFAULT_TRAIN_CONFIG.patience})`)
    .option('--emb-reg <x>', `L2 on embedding tables (default ${DEFAULT_TRAIN_CONFIG.embeddingRegularizer})`)
    .option('--net-reg <x>', `L2 on the other weights (default ${DEFAULT_TRAIN_CONFIG.netRegularizer})`)
    .option('--eval-steps <n>', 'evaluate every n steps instead of every epoch')
    .option('--resume', 'continue the run in --out from checkpoint/latest.ckpt', false)
    .option('--overwrite', 'replace a run already in --out', false)
    .option('--backend <name>', `force a backend: ${BACKEND_NAMES.join(' | ')}`)
    .addHelpText(
      'after',
      [
        '',
        'Loss: BCE + L2 (embeddings, network); Adam; gradient norm clipped at 10; on no valid-AUC gain lr × 0.1 (floor',
        '1e-6) and patience + 1; the best weights are kept. A checkpoint is written after every evaluation; a killed run',
        'continues with --resume and ends as an uninterrupted one would.',
        '',
        'Example: mmctr train --model din --preset dinSmall --data data/small --epochs 5 --batch-size 1024 --out runs/din1',
      ].join('\n'),
    )
    .action(async (opts: TrainCommandOptions) => runTrain(opts));
}
