/**
 * The names, presets and constructors of the model zoo, in one table: `createModel('din', 'dinSmall', table)`
 * or `createModel('dcnv2', { structure: 'stacked' }, table, { seed: 7 })`. `describeModels()` feeds the CLI and the
 * comparison tables.
 */
import type { ModelOptions } from './base';
import { DCN_PRESETS, Dcn, type DcnArgs } from './dcn';
import { DCN_DIN_PRESETS, DcnDin, type DcnDinArgs } from './dcnDin';
import { DCNV2_PRESETS, Dcnv2, type Dcnv2Args } from './dcnv2';
import { DIN_PRESETS, Din, type DinArgs } from './din';
import { DIN_MHA_SE_PRESETS, DinMhaSe, type DinMhaSeArgs } from './dinMhaSe';
import { ModelConfigError } from './features';
import { HISTORY_BLIND_PRESETS, HistoryBlind, type HistoryBlindArgs } from './historyBlind';
import { TRANSFORMER_DCN_PRESETS, TransformerDcn, type TransformerDcnArgs } from './transformerDcn';
import type { CtrModel, ItemTable, ModelName } from './types';

/** The argument type of each model. */
export interface ModelArgsMap {
  din: DinArgs;
  dcn: DcnArgs;
  dcnv2: Dcnv2Args;
  dcnDin: DcnDinArgs;
  transformerDcn: TransformerDcnArgs;
  dinMhaSe: DinMhaSeArgs;
  historyBlind: HistoryBlindArgs;
}

/** The named presets of each model. */
export const MODEL_PRESETS = {
  din: DIN_PRESETS,
  dcn: DCN_PRESETS,
  dcnv2: DCNV2_PRESETS,
  dcnDin: DCN_DIN_PRESETS,
  transformerDcn: TRANSFORMER_DCN_PRESETS,
  dinMhaSe: DIN_MHA_SE_PRESETS,
  historyBlind: HISTORY_BLIND_PRESETS,
} as const satisfies { [N in ModelName]: Record<string, ModelArgsMap[N]> };

/** The preset names of one model, as literals (e.g. 'dinBaseline' | 'dinSmall'). */
export type PresetName<N extends ModelName> = keyof (typeof MODEL_PRESETS)[N] & string;

/** Every model name, in table order. */
export const MODEL_NAMES: readonly ModelName[] = Object.keys(MODEL_PRESETS) as ModelName[];

type Constructor<N extends ModelName> = new (table: ItemTable, args: ModelArgsMap[N], options: ModelOptions) => CtrModel;

const CONSTRUCTORS: { [N in ModelName]: Constructor<N> } = {
  din: Din,
  dcn: Dcn,
  dcnv2: Dcnv2,
  dcnDin: DcnDin,
  transformerDcn: TransformerDcn,
  dinMhaSe: DinMhaSe,
  historyBlind: HistoryBlind,
};

/** What the CLI and comparison tables show about a model. */
export interface ModelDescription {
  name: ModelName;
  title: string;
  /** Paper or source it implements. */
  reference: string;
  presets: string[];
  /** The preset for training on 2 CPU cores. */
  smallPreset: string;
}

const DESCRIPTIONS: { [N in ModelName]: Omit<ModelDescription, 'name' | 'presets'> & { smallPreset: PresetName<N> } } = {
  din: { title: 'DIN (challenge baseline)', reference: 'Zhou et al., KDD 2018; reczoo/WWW2025_MMCTR_Challenge', smallPreset: 'dinSmall' },
  dcn: { title: 'DCN: CrossNet ‖ DNN, mean-pooled history', reference: 'Wang et al., ADKDD 2017', smallPreset: 'dcnSmall' },
  dcnv2: { title: 'DCN-V2 (4 structures, optional CrossNetMix)', reference: 'Wang et al., WWW 2021', smallPreset: 'dcnv2Small' },
  dcnDin: { title: 'DCN-DIN hybrid with Dice', reference: 'CLIP + Word2Vec participant pipeline; DIN + DCN', smallPreset: 'dcnDinSmall' },
  transformerDcn: { title: 'Transformer + DCN-V2 (1st place, momo)', reference: 'arXiv 2505.03543', smallPreset: 'transformerDcnSmall' },
  dinMhaSe: { title: 'DIN + multi-head target attention + SE (Task 2 winner)', reference: 'arXiv 2504.18961', smallPreset: 'dinMhaSeSmall' },
  historyBlind: { title: 'History-blind DNN (control)', reference: 'target + context only', smallPreset: 'historyBlindSmall' },
};

export function describeModels(): ModelDescription[] {
  return MODEL_NAMES.map((name) => ({ name, ...DESCRIPTIONS[name], presets: Object.keys(MODEL_PRESETS[name]) }));
}

/** Whether a string names a model (for CLI flags and JSON). */
export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/** The args of a preset, or throws naming the known presets. */
export function presetArgs<N extends ModelName>(name: N, preset: string): ModelArgsMap[N] {
  const presets = MODEL_PRESETS[name] as Record<string, ModelArgsMap[N]>;
  const args = presets[preset];
  if (!args) throw new ModelConfigError(`${name}: unknown preset '${preset}' (known: ${Object.keys(presets).join(', ')})`);
  return args;
}

/**
 * A model by name, from a preset name or an args object (defaults fill what is missing; unknown keys throw).
 * The same seed gives identical initial weights.
 */
export function createModel<N extends ModelName>(
  name: N,
  presetOrArgs: PresetName<N> | ModelArgsMap[N],
  itemTable: ItemTable,
  options: ModelOptions = {},
): CtrModel {
  if (!isModelName(name)) throw new ModelConfigError(`unknown model '${String(name)}' (known: ${MODEL_NAMES.join(', ')})`);
  const args = typeof presetOrArgs === 'string' ? presetArgs(name, presetOrArgs) : presetOrArgs;
  const Ctor = CONSTRUCTORS[name] as Constructor<N>;
  return new Ctor(itemTable, args, options);
}
