/**
 * Workload: distinct English prompts of a target token length, streamed
 * POST /v1/completions requests, and one concurrency level (C stream-slots,
 * each running 1 warm-up then K measured requests back to back).
 */
import { sseData } from "./sse.ts";
import { prng as rng } from "../../src/shared/prng.ts";

// Varied English sentences; prompts are random sequences of them behind a unique header,
// so no two prompts share more than a couple of leading tokens (no prefix-cache help).
const SENTENCES = [
  "The river bent sharply around the old mill before it widened into a slow, brown lake.",
  "Most of the village still remembered the winter when the bridge froze and cracked in two.",
  "She kept a notebook of every bird she saw, with the date, the weather and a rough sketch.",
  "Engineers measured the load on each beam twice, once in the morning and again at night.",
  "A good loaf of bread needs flour, water, salt, patience and a warm corner of the kitchen.",
  "The committee argued for hours about the budget and then postponed the decision again.",
  "In the library, the oldest maps showed coastlines that no longer exist anywhere on Earth.",
  "He learned to play the violin late in life, practicing scales every evening after dinner.",
  "Traffic slowed to a crawl as the rain turned the highway into a long, gray mirror.",
  "Scientists believe the comet last passed close to the sun nearly three thousand years ago.",
  "The market opened at dawn, and by noon the stalls had sold out of peaches and fresh fish.",
  "Our neighbor repaired bicycles in his garage and never charged children for a new tire.",
  "When the power failed, the whole street gathered outside to watch the stars appear.",
  "The recipe called for two cups of rice, but the cook always added a little extra.",
  "Each chapter of the novel is told by a different member of the same large family.",
  "Volunteers planted four hundred trees along the valley to slow the spring floods.",
  "The museum guard knew the story behind every painting and told it to anyone who asked.",
  "A small error in the first calculation grew larger with every step that followed it.",
  "Fishermen say the wind changes direction just before the weather turns for the worse.",
  "The children built a fort from blankets, chairs and a cardboard box from the new fridge.",
  "Her grandfather wrote letters by hand and sealed each envelope with a drop of red wax.",
  "The train to the coast leaves at seven, stops at every town and arrives after lunch.",
  "Nobody could explain why the clock in the tower always ran exactly four minutes late.",
  "The software update fixed the crash but made the application noticeably slower to start.",
  "Farmers in the region grow wheat on the plains and grapes on the steep southern hills.",
  "During the storm, the lighthouse keeper stayed awake to make sure the lamp kept burning.",
  "The teacher asked every student to describe a place they had never visited but imagined.",
  "A thin layer of dust covered the piano, which had not been played for many years.",
  "Economists disagree about whether the new tax will raise revenue or slow down growth.",
  "The path to the summit is marked with small piles of stones left by earlier hikers.",
  "Bees visit thousands of flowers to make a single spoonful of pale, sweet honey.",
  "The detective noticed that the muddy boots by the door were two sizes too small.",
  "Every spring the town holds a festival with music, games and a parade of painted boats.",
  "The old computer took ten minutes to boot, but it never once lost a single file.",
  "Snow fell quietly through the night and covered the cars, the fences and the gardens.",
  "The orchestra tuned their instruments while the audience searched for their seats.",
  "A careful reader will find that the ending was hinted at in the very first paragraph.",
  "The bakery on the corner sells warm rolls until the last customer leaves at midnight.",
  "Sailors once navigated by the stars, reading the sky the way we now read a screen.",
  "The garden was overgrown with roses, mint and tall weeds that nobody had time to pull.",
  "After the merger, the two companies spent a year deciding whose logo would survive.",
  "The puppy chased its own tail until it tumbled over and fell asleep on the rug.",
  "Archaeologists found coins, pottery and a bronze key buried beneath the ancient wall.",
  "The pilot announced a short delay because of strong winds over the mountains ahead.",
  "In autumn the forest turns red and gold, and the air smells of smoke and wet leaves.",
  "The mayor promised to repair the roads before winter, but the work started in March.",
  "Reading aloud helps young children learn new words and the rhythm of the language.",
  "The chess match lasted six hours and ended in a draw that satisfied neither player.",
  "Water boils at a lower temperature high in the mountains because the air is thinner.",
  "The tailor measured the jacket three times before cutting a single piece of cloth.",
  "Lanterns floated on the lake as the families remembered those who had passed away.",
  "The startup hired twelve engineers in one month and then struggled to find desks.",
  "An old proverb says that the best time to plant a tree was twenty years ago.",
  "The hospital opened a new wing with brighter rooms and a garden for the patients.",
  "Clouds gathered over the harbor, and the boats returned early with half their catch.",
  "The translator spent a week on one poem, trying to keep both its meaning and its sound.",
  "Late at night the city sounds different, with distant sirens and the hum of trains.",
  "The students built a small robot that could sort colored blocks into separate bins.",
  "A strong cup of coffee and a quiet desk were all the writer needed to start the day.",
  "The cat watched the goldfish for an hour, then lost interest and went to sleep.",
];

/** Llama-2 SentencePiece on these sentences: about 1.27 tokens per word (checked with llama-server /tokenize). */
export const TOKENS_PER_WORD = 1.27;
/** BOS + the "Note <id>." header, about 12 tokens. */
const HEADER_TOKENS = 12;

/** Deterministic PRNG (mulberry32), so both servers get exactly the same prompts. */
export { prng as rng } from "../../src/shared/prng.ts";

/** A distinct prompt of about `targetTokens` Llama-2 tokens. `id` makes it unique. */
export function makePrompt(id: string, targetTokens: number, seed: number): string {
  const rand = rng(seed);
  const targetWords = 2 + Math.max(6, Math.round((targetTokens - HEADER_TOKENS) / TOKENS_PER_WORD));
  const parts: string[] = [`Note ${id}.`];
  let words = 2;
  while (words < targetWords) {
    let s = SENTENCES[Math.floor(rand() * SENTENCES.length)];
    const sw = s.split(" ");
    if (words + sw.length > targetWords) s = sw.slice(0, targetWords - words).join(" ");
    parts.push(s);
    words += s.split(" ").length;
  }
  return parts.join(" ");
}

export interface RequestResult {
  ok: boolean;
  error?: string;
  /** ms from sending the request to the first chunk that carries text. */
  ttftMs: number;
  /** ms from sending the request to the end of the stream. */
  totalMs: number;
  /** completion tokens: usage.completion_tokens when the server reports it, else max_tokens. */
  tokens: number;
  tokensFrom: "usage" | "max_tokens";
  /** SSE chunks that carried text (informational: servers may merge tokens into one chunk). */
  textChunks: number;
  promptTokens?: number;
}

export interface CompletionParams {
  baseUrl: string;
  model: string;
  prompt: string;
  maxTokens: number;
  timeoutMs: number;
}

/** POST /v1/completions with stream=true; reads the SSE stream to the end. */
export async function streamCompletion(p: CompletionParams): Promise<RequestResult> {
  const t0 = performance.now();
  let ttft = NaN;
  let textChunks = 0;
  let usage: { completion_tokens?: number; prompt_tokens?: number } | undefined;
  const fail = (error: string): RequestResult => ({
    ok: false, error, ttftMs: ttft, totalMs: performance.now() - t0, tokens: 0, tokensFrom: "max_tokens", textChunks,
  });
  try {
    const res = await fetch(`${p.baseUrl}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({
        model: p.model,
        prompt: p.prompt,
        max_tokens: p.maxTokens,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
        ignore_eos: true,
      }),
      signal: AbortSignal.timeout(p.timeoutMs),
      // A fresh connection per request for both servers: a pooled socket the server already
      // closed (llama-server's idle keep-alive timeout) fails with ECONNRESET.
      keepalive: false,
    });
    if (!res.ok || !res.body) return fail(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
    let done = false;
    for await (const data of sseData(res.body)) {
      if (data === "[DONE]") { done = true; continue; }
      let msg: any;
      try { msg = JSON.parse(data); } catch { continue; }
      if (msg.error) return fail(`stream error: ${JSON.stringify(msg.error).slice(0, 300)}`);
      const text = msg.choices?.[0]?.text;
      if (typeof text === "string" && text.length > 0) {
        if (Number.isNaN(ttft)) ttft = performance.now() - t0;
        textChunks++;
      }
      if (msg.usage && typeof msg.usage.completion_tokens === "number") usage = msg.usage;
    }
    if (!done && textChunks === 0) return fail("stream ended without data");
    const fromUsage = usage?.completion_tokens !== undefined;
    return {
      ok: true,
      ttftMs: ttft,
      totalMs: performance.now() - t0,
      tokens: fromUsage ? usage!.completion_tokens! : p.maxTokens,
      tokensFrom: fromUsage ? "usage" : "max_tokens",
      textChunks,
      promptTokens: usage?.prompt_tokens,
    };
  } catch (e) {
    return fail(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
}

export interface LevelSpec {
  promptTokens: number;
  concurrency: number;
  requestsPerSlot: number;
  maxTokens: number;
  timeoutMs: number;
  /** Distinguishes prompts of different servers/levels; equal across servers on purpose. */
  seed: number;
}

export interface LevelResult {
  promptTokens: number;
  concurrency: number;
  wallMs: number;
  requests: RequestResult[];
  warmupErrors: number;
}

/** One concurrency level: every slot runs 1 warm-up (not measured), then K requests back to back. */
export async function runLevel(baseUrl: string, model: string, spec: LevelSpec): Promise<LevelResult> {
  const prompt = (phase: string, slot: number, i: number) =>
    makePrompt(`${spec.promptTokens}-${spec.concurrency}-${phase}${slot}-${i}`, spec.promptTokens,
      spec.seed * 1_000_003 + spec.promptTokens * 10_007 + spec.concurrency * 101 + slot * 13 + i + (phase === "w" ? 500_009 : 0));
  const one = (text: string) =>
    streamCompletion({ baseUrl, model, prompt: text, maxTokens: spec.maxTokens, timeoutMs: spec.timeoutMs });
  const slots = Array.from({ length: spec.concurrency }, (_, s) => s);

  const warm = await Promise.all(slots.map((s) => one(prompt("w", s, 0))));
  const warmupErrors = warm.filter((r) => !r.ok).length;

  const requests: RequestResult[] = [];
  const t0 = performance.now();
  await Promise.all(
    slots.map(async (s) => {
      for (let i = 0; i < spec.requestsPerSlot; i++) requests.push(await one(prompt("m", s, i)));
    }),
  );
  return { promptTokens: spec.promptTokens, concurrency: spec.concurrency, wallMs: performance.now() - t0, requests, warmupErrors };
}
