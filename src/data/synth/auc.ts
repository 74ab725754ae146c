/**
 * Exact ROC AUC with ties counted one half (the Mann–Whitney statistic), private to the generator: src/data may
 * not import src/eval. TODO(dedup): same definition as `auc` in src/eval/metrics.ts.
 *
 * Positives and negatives are sorted separately with the native typed-array sort and merged, so 3.6M rows take
 * well under a second.
 */
export function exactAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  if (scores.length !== n) throw new RangeError(`exactAuc: ${n} labels but ${scores.length} scores`);
  let np = 0;
  for (let i = 0; i < n; i++) if (labels[i] > 0) np++;
  const nn = n - np;
  if (np === 0 || nn === 0) return Number.NaN;
  const pos = new Float64Array(np);
  const neg = new Float64Array(nn);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (Number.isNaN(s)) throw new RangeError(`exactAuc: score ${i} is NaN`);
    if (labels[i] > 0) pos[a++] = s;
    else neg[b++] = s;
  }
  pos.sort();
  neg.sort();
  let lt = 0;
  let le = 0;
  let sum = 0;
  for (let i = 0; i < np; i++) {
    const s = pos[i];
    while (lt < nn && neg[lt] < s) lt++;
    if (le < lt) le = lt;
    while (le < nn && neg[le] <= s) le++;
    sum += lt + 0.5 * (le - lt);
  }
  return sum / (np * nn);
}
