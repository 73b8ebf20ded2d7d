/**
 * Log-probabilities from raw logits: the chosen token's and the top N, by a
 * single log-sum-exp pass and a partial selection (no full sort of the vocabulary).
 */
export function topLogprobs(logits: Float32Array, chosen: number, nTop: number): { chosen: number; top: [number, number][] } {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const logZ = max + Math.log(sum);
  const top: [number, number][] = [];
  if (nTop > 0) {
    // Keep the nTop best in a small sorted array (nTop <= 20).
    for (let i = 0; i < logits.length; i++) {
      const v = logits[i];
      if (top.length < nTop || v > top[top.length - 1][1]) {
        let j = top.length < nTop ? top.length : top.length - 1;
        if (top.length < nTop) top.push([i, v]);
        while (j > 0 && top[j - 1][1] < v) {
          top[j] = top[j - 1];
          j--;
        }
        top[j] = [i, v];
      }
    }
  }
  return { chosen: logits[chosen] - logZ, top: top.map(([t, v]) => [t, v - logZ]) };
}
