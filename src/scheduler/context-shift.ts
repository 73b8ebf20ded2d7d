/**
 * Context shift: when a generating sequence reaches the context limit, the
 * oldest tokens after a kept opening leave it so generation can go on
 * (llama.cpp's --context-shift and --keep). The plan is pure; the engine
 * applies it.
 *
 * The engine removes everything from `keep` on from the sequence's KV and
 * prefills the remaining tokens again, rather than moving the cells down in
 * place (llama_memory_seq_add) as llama-server does:
 * - KV moved in place is not what a prefill of the remaining tokens gives
 *   (the moved keys were computed beside the dropped tokens). A sequence
 *   preempted later recomputes from its tokens, and its text would then
 *   depend on what else ran beside it; recomputed, it never does.
 * - A cell has one position for every sequence that holds it: moving cells
 *   shared with the prefix cache would corrupt the cached prefix.
 * - It works for every model, also those whose memory cannot shift.
 * The price is one prefill of about half the context per shift, while every
 * shift follows about as many generated tokens, each a decode step.
 */

export interface ContextShiftInput {
  /** Tokens of the sequence in the KV cache now. */
  nPast: number;
  /** Prompt tokens of the request. */
  nPrompt: number;
  /** Prompt tokens to keep (-1 = the whole prompt), as llama.cpp's --keep. */
  nKeep: number;
  /** The prompt starts with a BOS token: it is always kept, besides nKeep. */
  bos: boolean;
}

export interface ContextShiftPlan {
  /** Tokens kept at the start. */
  keep: number;
  /** Tokens dropped right after them. */
  discard: number;
}

/**
 * Keeps the opening and drops half of what follows it (at least one token),
 * as llama-server does. Undefined when nothing can be dropped: the kept
 * opening fills the context.
 */
export function planContextShift(s: ContextShiftInput): ContextShiftPlan | undefined {
  const wanted = s.nKeep < 0 ? s.nPrompt : Math.min(s.nPrompt, s.nKeep + (s.bos ? 1 : 0));
  const keep = Math.max(0, Math.min(wanted, s.nPast));
  const movable = s.nPast - keep;
  // Something must stay after the gap besides what is dropped, or the sequence would lose its last context.
  if (movable < 2) return undefined;
  return { keep, discard: Math.max(1, Math.floor(movable / 2)) };
}
