/**
 * Weight bookkeeping shared by every model of the zoo, and nothing else: the item and context encoders, sub-layers
 * registered under stable keys with derived seeds, an eager build, and the `CtrModel` accessors over them
 * (embedding vs network variables, named weights for checkpoints, parameter count, dispose).
 * Training loops, checkpoints and early stopping live in src/train, not here.
 */
import * as tf from '@tensorflow/tfjs';
import { ContextEncoder, ItemEncoder, type ItemLookup, ModelConfigError, microlensFeatureMap } from './features';
import { EmbeddingTable } from './layers';
import type { CtrModel, ItemTable, ModelInputs, ModelName } from './types';

/** The challenge baseline's seed. */
export const DEFAULT_SEED = 20242025;

/** Construction options that are not hyper-parameters (not part of `config`). */
export interface ModelOptions {
  /** Seed of every initialiser: the same seed gives identical initial weights. Default 20242025 (the baseline). */
  seed?: number;
  /** How item vectors of a batch are looked up (same result either way). Default 'unique'. */
  lookup?: ItemLookup;
}

/** Item-side arguments every model takes. */
export interface ItemSideArgs {
  /** Width of the item_id, item_tags, likes_level and views_level embeddings. Default 64 (the baseline). */
  embeddingDim?: number;
  /** Width of the bias-free projection of the pretrained item vector. Default 128 (the baseline). */
  pretrainedDim?: number;
}

export const ITEM_SIDE_DEFAULTS: Required<ItemSideArgs> = { embeddingDim: 64, pretrainedDim: 128 };

/**
 * Fills defaults into args given as code or JSON; rejects unknown keys and values whose type differs from the
 * default's (a number for a list, ...). Literal-union values are checked by `oneOf` where they are used.
 */
export function resolveArgs<A extends object>(model: string, defaults: Required<A>, args: Partial<A> = {}): Required<A> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(args)) {
    if (!(key in defaults)) {
      throw new ModelConfigError(`${model}: unknown argument '${key}' (known: ${Object.keys(defaults).join(', ')})`);
    }
    if (value === undefined) continue;
    const d = (defaults as Record<string, unknown>)[key];
    if (typeof d !== typeof value || Array.isArray(d) !== Array.isArray(value)) {
      throw new ModelConfigError(`${model}: argument '${key}' must be like ${JSON.stringify(d)}, got ${JSON.stringify(value)}`);
    }
    out[key] = Array.isArray(value) ? [...value] : value;
  }
  return out as Required<A>;
}

/** Asserts a literal-union argument. */
export function oneOf<T extends string>(model: string, arg: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new ModelConfigError(`${model}: ${arg} must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return value;
}

/** `layer.apply` with the training flag, typed for concrete tensors. */
export function run(layer: tf.layers.Layer, x: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor {
  return layer.apply(x, { training }) as tf.Tensor;
}

export abstract class CtrModelBase<A extends ItemSideArgs> implements CtrModel {
  readonly config: Record<string, unknown>;
  protected readonly items: ItemEncoder;
  protected readonly context: ContextEncoder;
  private readonly layers: [string, tf.layers.Layer][] = [];
  private readonly frozen: [string, tf.Variable][] = [];
  private readonly seed: number;
  private readonly numItems: number;
  private built = false;

  protected constructor(
    readonly name: ModelName,
    protected readonly args: Required<A>,
    itemTable: ItemTable,
    options: ModelOptions,
  ) {
    this.config = { ...args };
    this.seed = options.seed ?? DEFAULT_SEED;
    this.numItems = itemTable.tags.rows;
    const side = args as unknown as Required<ItemSideArgs>; // TS does not narrow a generic Required<A>
    const features = microlensFeatureMap(itemTable, { pretrainedDim: side.pretrainedDim });
    this.items = new ItemEncoder(features.item, itemTable, {
      embeddingDim: side.embeddingDim,
      lookup: options.lookup,
      seed: this.seed,
    });
    this.context = new ContextEncoder(features.context, side.embeddingDim, this.seed + 100_000);
    for (const parts of [this.items.weightParts(), this.context.weightParts()]) {
      this.layers.push(...parts.layers);
      this.frozen.push(...parts.frozen);
    }
  }

  /** Registers a sub-layer under a stable key (also its tfjs name); `make` gets the layer's own seed. */
  protected add<L extends tf.layers.Layer>(key: string, make: (name: string, seed: number) => L): L {
    if (this.layers.some(([k]) => k === key)) throw new ModelConfigError(`${this.name}: duplicate layer key '${key}'`);
    const layer = make(key, this.seed + 200_000 + 1000 * this.layers.length);
    this.layers.push([key, layer]);
    return layer;
  }

  /** Logits [batch] or [batch, 1] from a batch; runs inside `call`'s tidy. */
  protected abstract forward(inputs: ModelInputs, training: boolean): tf.Tensor;

  /** Creates every weight by one inference pass over a 2-row dummy batch. Subclass constructors end with it. */
  protected build(): void {
    if (this.built) return;
    tf.tidy(() => {
      const id = this.numItems > 1 ? 1 : 0;
      this.forward(
        {
          itemId: tf.tensor1d([id, id], 'int32'),
          likesLevel: tf.tensor1d([0, 1], 'int32'),
          viewsLevel: tf.tensor1d([1, 0], 'int32'),
          itemSeq: tf.tensor2d([[0, id], [id, id]], [2, 2], 'int32'),
        },
        false,
      );
    });
    this.built = true;
  }

  call(inputs: ModelInputs, training: boolean): tf.Tensor1D {
    this.build();
    return tf.tidy(() => tf.reshape(this.forward(inputs, training), [-1]) as tf.Tensor1D);
  }

  embeddingVariables(): tf.Variable[] {
    return this.trainable((layer) => layer instanceof EmbeddingTable);
  }

  networkVariables(): tf.Variable[] {
    return this.trainable((layer) => !(layer instanceof EmbeddingTable));
  }

  private trainable(select: (layer: tf.layers.Layer) => boolean): tf.Variable[] {
    this.build();
    return this.layers.filter(([, l]) => select(l)).flatMap(([, l]) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  }

  namedWeights(): Map<string, tf.Variable> {
    this.build();
    const out = new Map<string, tf.Variable>();
    const put = (name: string, v: tf.Variable) => {
      if (out.has(name)) throw new ModelConfigError(`${this.name}: two weights named '${name}'`);
      out.set(name, v);
    };
    for (const [key, layer] of this.layers) {
      for (const w of layer.weights) {
        const original = w.originalName;
        const local = original.startsWith(`${layer.name}/`) ? original.slice(layer.name.length + 1) : original;
        put(`${key}/${local}`, w.read() as tf.Variable); // a LayerVariable holds a tf.Variable
      }
    }
    for (const [key, v] of this.frozen) put(key, v);
    return out;
  }

  paramCount(): number {
    return [...this.embeddingVariables(), ...this.networkVariables()].reduce((s, v) => s + v.size, 0);
  }

  dispose(): void {
    for (const [, layer] of this.layers) if (layer.built) layer.dispose();
    for (const [, v] of this.frozen) v.dispose();
  }
}
