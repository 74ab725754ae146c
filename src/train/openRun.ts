/**
 * A trained run folder opened for prediction (`mmctr predict`, `mmctr ensemble`): its config.json, the model rebuilt
 * from it with checkpoint/best.ckpt loaded, and the data root and history length it was trained with. The caller
 * has selected the backend and disposes the model.
 */
import { existsSync, statSync } from 'node:fs';
import { loadItemInfo } from '../data/load';
import { MICROLENS_DIMS } from '../data/schema';
import { MmctrError } from '../errors';
import { createModel, isModelName, type ModelArgsMap } from '../models/registry';
import type { CtrModel, ItemTable, ModelName } from '../models/types';
import { itemTableFromInfo } from './data';
import { type BestCheckpointMeta, type RunConfig, loadBestWeights, readJson, runPath } from './runFolder';

export interface OpenedRun {
  dir: string;
  config: RunConfig;
  name: ModelName;
  /** The data root given, or the run's own (config.json). */
  dataRoot: string;
  seqLen: number;
  itemTable: ItemTable;
  model: CtrModel;
  /** The evaluation that made the loaded weights best. */
  best: BestCheckpointMeta;
}

/** Opens `runDir`; `dataRoot` overrides the run's data root (its item_info.parquet must fit the model). */
export async function openRun(runDir: string, opts: { dataRoot?: string } = {}): Promise<OpenedRun> {
  const config = readJson<RunConfig>(runPath(runDir, 'config'));
  const name = config.model.name;
  if (!isModelName(name)) throw new MmctrError(`${runPath(runDir, 'config')}: unknown model ${name}`);
  const dataRoot = opts.dataRoot ?? (typeof config.info.dataRoot === 'string' ? config.info.dataRoot : undefined);
  if (dataRoot === undefined) throw new MmctrError(`${runPath(runDir, 'config')} names no data root: give one (--data <root>)`);
  if (!existsSync(dataRoot) || !statSync(dataRoot).isDirectory()) {
    throw new MmctrError(`${runDir}: data root ${dataRoot}${opts.dataRoot === undefined ? " (the run's, from config.json)" : ''} is not a directory; give one with --data <root>`);
  }
  const seqLen = typeof config.info.seqLen === 'number' ? config.info.seqLen : MICROLENS_DIMS.modelSeqLen;
  const trained = config.info.itemTable as { tagVocab?: number } | undefined;
  const itemTable = itemTableFromInfo(await loadItemInfo(dataRoot, { seqLen }), trained?.tagVocab);
  const modelSeed = typeof config.info.modelSeed === 'number' ? config.info.modelSeed : config.seed;
  const model = createModel(name, config.model.config as ModelArgsMap[typeof name], itemTable, { seed: modelSeed });
  try {
    const best = loadBestWeights(runDir, model);
    return { dir: runDir, config, name, dataRoot, seqLen, itemTable, model, best };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
