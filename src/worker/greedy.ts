/**
 * Greedy sampling done in TypeScript: the argmax over logits plus logit biases,
 * exactly the token llama.cpp's logit-bias + greedy chain picks, without the
 * chain's copy of the whole vocabulary into a candidate array.
 */

/** Summed biases per token, as llama.cpp's logit-bias sampler applies them. */
export function biasMap(bias: readonly [number, number][]): Map<number, number> {
  const m = new Map<number, number>();
  for (const [t, b] of bias) m.set(t, (m.get(t) ?? 0) + b);
  return m;
}

/**
 * The greedy sampler's choice over logits + biases: the first index of the
 * highest value, as llama_sampler_greedy picks it. -1 when every token is -inf.
 */
export function greedyArgmax(logits: Float32Array, bias: ReadonlyMap<number, number>): number {
  let best = -1;
  let bestLogit = -Infinity;
  for (let i = 0, n = logits.length; i < n; i++) {
    const l = logits[i];
    if (l > bestLogit) {
      bestLogit = l;
      best = i;
    }
  }
  if (bias.size === 0) return best;
  // Biased tokens can rise above or fall below the plain maximum: rescan only when needed.
  const biased = bias.get(best);
  if (biased === undefined || biased >= 0) {
    for (const [t, b] of bias) {
      const l = logits[t] + b;
      if (l > bestLogit || (l === bestLogit && t < best)) {
        bestLogit = l;
        best = t;
      }
    }
    return bestLogit === -Infinity ? -1 : best;
  }
  best = -1;
  bestLogit = -Infinity;
  for (let i = 0, n = logits.length; i < n; i++) {
    const b = bias.get(i);
    const l = b === undefined ? logits[i] : logits[i] + b;
    if (l > bestLogit) {
      bestLogit = l;
      best = i;
    }
  }
  return best;
}
