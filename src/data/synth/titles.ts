/**
 * Synthetic item titles: pronounceable pseudo-words, a vocabulary per topic, filler words shared by all topics,
 * and hashtags named after the item's tags (as in MicroLens titles, which mix words and #tags). Deterministic.
 */
import type { Rng } from '../../util/rng';

const ONSETS = ['b', 'br', 'c', 'ch', 'd', 'dr', 'f', 'g', 'gl', 'h', 'j', 'k', 'l', 'm'];
ONSETS.push('n', 'p', 'pl', 'qu', 'r', 's', 'sh', 'st', 't', 'tr', 'v', 'w', 'z');
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou'];
const CODAS = ['', '', '', 'n', 'r', 's', 'l', 'm', 'x', 'nd', 'st'];

export interface WordBank {
  /** Words of each topic. */
  topicWords: string[][];
  /** Words any title may use. */
  fillers: string[];
  /** Name of tag t (index t, index 0 unused). */
  tagNames: string[];
}

function word(r: Rng, syllables: number): string {
  let w = '';
  for (let s = 0; s < syllables; s++) w += ONSETS[r.int(ONSETS.length)] + VOWELS[r.int(VOWELS.length)];
  return w + CODAS[r.int(CODAS.length)];
}

/** Distinct words (a suffix number breaks the rare collision, so the bank never depends on retry luck). */
function words(r: Rng, count: number, seen: Set<string>, minSyl: number, maxSyl: number): string[] {
  const out: string[] = [];
  while (out.length < count) {
    let w = word(r, minSyl + r.int(maxSyl - minSyl + 1));
    if (seen.has(w)) w = `${w}${seen.size}`;
    seen.add(w);
    out.push(w);
  }
  return out;
}

export function makeWordBank(r: Rng, numTopics: number, numTags: number): WordBank {
  const seen = new Set<string>();
  const topicWords = Array.from({ length: numTopics }, () => words(r, 8, seen, 2, 3));
  const fillers = words(r, 60, seen, 1, 2);
  const tagNames = ['', ...words(r, numTags, seen, 2, 3)];
  return { topicWords, fillers, tagNames };
}

/** A title of 2–6 words (60% from the topic's vocabulary) followed by up to 2 of the item's tags as hashtags. */
export function makeTitle(r: Rng, bank: WordBank, topic: number, tags: ArrayLike<number>): string {
  const nWords = 2 + r.int(5);
  const parts: string[] = [];
  for (let i = 0; i < nWords; i++) {
    const pool = r.uniform() < 0.6 ? bank.topicWords[topic] : bank.fillers;
    parts.push(pool[r.int(pool.length)]);
  }
  parts[0] = parts[0][0].toUpperCase() + parts[0].slice(1);
  const nTags = Math.min(tags.length, r.int(3));
  for (let i = 0; i < nTags; i++) parts.push(`#${bank.tagNames[tags[i]]}`);
  return parts.join(' ');
}
