/**
 * `mmctr stats --data <root>`: loads each MicroLens table present (every check on) and prints its statistics:
 * rows, positive rate, distinct users / items / tags, history length min / median / mean / max, list sizes.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import { MICROLENS_DIMS, microlensTables, type TableName } from '../data/schema';
import { inferVocab, loadItemEmbeddings, loadItemFeatures, loadItemInfo, loadItemSequences, loadSplit, type LoadOptions } from '../data/load';
import { itemEmbeddingStats, itemFeatureStats, itemInfoStats, itemSequenceStats, splitStats, type Summary } from '../data/stats';
import { releaseMemory } from '../util/memory';
import { DATA_ROOT_HELP, TABLES_HELP, parseDataRoot, parseTables } from './validate';

export interface StatsCommandOptions {
  /** Data root. Required. */
  data?: string;
  /** Comma-separated table names. Default: all seven (absent ones skipped). */
  tables?: string;
  /** Print JSON instead of text. Default false. */
  json?: boolean;
}

type Stats = Record<string, unknown>;

const int = (n: number) => n.toLocaleString('en-US');
const num = (n: number) => (Number.isInteger(n) ? int(n) : n.toFixed(n < 10 ? 3 : 2));
const summary = (s: Summary) => `min ${num(s.min)} · median ${num(s.median)} · mean ${num(s.mean)} · max ${num(s.max)}`;

/** Loads one table and returns its statistics as label → formatted value (and the raw object for --json). */
async function tableStats(root: string, table: TableName, opts: LoadOptions): Promise<{ lines: [string, string][]; raw: Stats }> {
  switch (table) {
    case 'train':
    case 'valid':
    case 'test': {
      const s = splitStats(await loadSplit(root, table, opts));
      const rate = s.positiveRate === null ? 'no labels' : `${(100 * s.positiveRate).toFixed(2)}% (${int(s.positives ?? 0)})`;
      return {
        raw: { ...s },
        lines: [
          ['rows', int(s.rows)],
          ['positive rate', rate],
          ['users', int(s.users)],
          ['target items', int(s.items)],
          ['history items', int(s.historyItems)],
          [`history length (of ${s.seqLen})`, summary(s.historyLength)],
        ],
      };
    }
    case 'item_info': {
      const s = itemInfoStats(await loadItemInfo(root, opts));
      return {
        raw: { ...s },
        lines: [
          ['rows', `${int(s.rows)} (items 1..${int(s.items)} + padding row 0)`],
          ['distinct tags', int(s.distinctTags)],
          ['tags per item', summary(s.tagsPerItem)],
          ['item_emb_d128 norm', summary(s.embeddingNorm)],
        ],
      };
    }
    case 'item_feature': {
      const s = itemFeatureStats(await loadItemFeatures(root, opts));
      return {
        raw: { ...s },
        lines: [
          ['rows', int(s.rows)],
          ['distinct tags', int(s.distinctTags)],
          ['tags per item', summary(s.tagsPerItem)],
          ['empty titles', int(s.emptyTitles)],
          ['title length', summary(s.titleLength)],
        ],
      };
    }
    case 'item_emb': {
      const s = itemEmbeddingStats(await loadItemEmbeddings(root, opts));
      return {
        raw: { ...s },
        lines: [['rows', int(s.rows)], ...Object.entries(s.norms).map(([k, v]): [string, string] => [`${k} norm`, summary(v)])],
      };
    }
    case 'item_seq': {
      const s = itemSequenceStats(await loadItemSequences(root, opts));
      return {
        raw: { ...s },
        lines: [
          ['rows', int(s.rows)],
          ['users', int(s.users)],
          ['distinct items', int(s.distinctItems)],
          ['length (non-zero)', summary(s.length)],
        ],
      };
    }
    default: {
      const never: never = table;
      throw new MmctrError(`unknown table ${String(never)}`);
    }
  }
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('Print statistics of the MicroLens_1M_x1 files under a data root (rows, positive rate, users, items, tags, history lengths)')
    .option('--data <root>', DATA_ROOT_HELP)
    .option('--tables <names>', TABLES_HELP)
    .option('--json', 'print one JSON object instead of text', false)
    .addHelpText(
      'after',
      [
        '',
        'Each table present is loaded with every check on (an invalid file stops with its error) at the stored',
        `history length (${MICROLENS_DIMS.storedSeqLen}); history length counts the non-zero ids of a row (valid where id > 0).`,
        '',
        'Example: mmctr stats --data data/full --tables train,valid',
      ].join('\n'),
    )
    .action(async (opts: StatsCommandOptions) => {
      const root = parseDataRoot(opts.data);
      const tables = parseTables(opts.tables);
      const vocab = inferVocab(root);
      const specs = microlensTables(vocab);
      const load: LoadOptions = { vocab, validate: true, seqLen: MICROLENS_DIMS.storedSeqLen };
      const present = tables.filter((t) => existsSync(path.join(root, specs[t].path)));
      if (present.length === 0) {
        throw new MmctrError(`no MicroLens files under ${root} (looked for: ${tables.map((t) => specs[t].path).join(', ')})`);
      }
      const all: Record<string, Stats> = {};
      for (const table of present) {
        const { lines, raw } = await tableStats(root, table, load);
        await releaseMemory();
        all[table] = raw;
        if (opts.json !== true) {
          const width = Math.max(...lines.map(([k]) => k.length));
          process.stdout.write(`${table} (${specs[table].path})\n${lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n\n`);
        }
      }
      if (opts.json === true) process.stdout.write(JSON.stringify({ root, vocab, tables: all }, null, 2) + '\n');
    });
}
