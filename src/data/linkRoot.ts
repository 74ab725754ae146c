/**
 * A derived data root: a folder that holds some tables of its own (e.g. Task 1's item_info.parquet) and links the
 * rest to an existing data root, so that it reads as a complete data root (`mmctr train --data <it>`) without copying
 * gigabytes. Links point to absolute paths, so the folder may live anywhere. The synthetic ground truth (`oracle/`)
 * is linked too, so oracle gaps are reported for models trained on it.
 */
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { MmctrError } from '../errors';
import { TABLE_NAMES, type TableName, microlensTables } from './schema';

/** The synthetic ground-truth folder of a data root. */
const ORACLE_DIR = 'oracle';

/**
 * Links every table of `dataRoot` that exists there, is not in `own` and is absent from `outDir`, plus `oracle/`.
 * Returns the relative paths linked. Nothing is replaced: a file already in `outDir` stays.
 */
export function linkDataRoot(dataRoot: string, outDir: string, own: readonly TableName[]): string[] {
  const from = path.resolve(dataRoot);
  const to = path.resolve(outDir);
  if (from === to) return [];
  const specs = microlensTables();
  const rels = [...TABLE_NAMES.filter((t) => !own.includes(t)).map((t) => specs[t].path), ORACLE_DIR];
  const linked: string[] = [];
  for (const rel of rels) {
    const source = path.join(from, rel);
    const target = path.join(to, rel);
    if (!existsSync(source) || exists(target)) continue;
    try {
      mkdirSync(path.dirname(target), { recursive: true });
      symlinkSync(source, target);
    } catch (err) {
      throw new MmctrError(`${target}: could not link it to ${source} (${(err as Error).message})`, { cause: err });
    }
    linked.push(rel);
  }
  return linked;
}

/** True for a file, folder or link (even a dangling one). */
function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
