/**
 * The radix prefix cache through the real server: hits are reported in
 * usage.cached_tokens with output identical to a cold run, eviction under a
 * small KV cache, and no leaked KV cells, pins or sequence slots after many
 * requests with random cancellations.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { haveModels, STORIES, STORIES_CHATML } from "../helpers/models";
import { metric, startTestServer, type TestServer } from "../helpers/server";

const MODEL = "stories260K";
const system = "Once upon a time there was a little girl who liked to read books about the sea and the stars. ".repeat(8);

async function complete(url: string, prompt: string, extra: object = {}, signal?: AbortSignal) {
  const r = await fetch(`${url}/v1/completions`, { method: "POST", signal, headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, prompt, max_tokens: 24, temperature: 0, ...extra }) });
  return (await r.json()) as any;
}

/** Polls the tier snapshot counter until it passes `before` (the engine saves idle prefixes between requests); false after ~1 s. */
async function snapshotsAbove(url: string, before: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if ((await metric(url, "inferflux_prefix_cache_tier_snapshots_total")) > before) return true;
    await Bun.sleep(20);
  }
  return false;
}

describe.skipIf(!haveModels)("prefix cache", () => {
  let warm: TestServer;
  let cold: TestServer;
  beforeAll(async () => {
    [warm, cold] = await Promise.all([
      startTestServer(["--model", STORIES, "--parallel", "4", "--ctx-size", "2048"]),
      startTestServer(["--model", STORIES, "--parallel", "4", "--ctx-size", "2048", "--set", "cache.enabled=false"]),
    ]);
  }, 60_000);
  afterAll(async () => Promise.all([warm?.stop(), cold?.stop()]));

  test("a shared prefix is reused: cached_tokens counts it and the output equals a cold run", async () => {
    const first = await complete(warm.url, system + "Question one:");
    expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);
    const second = await complete(warm.url, system + "Question two:");
    const cached = second.usage.prompt_tokens_details.cached_tokens;
    expect(cached).toBeGreaterThan(second.usage.prompt_tokens * 0.8);
    const coldSecond = await complete(cold.url, system + "Question two:");
    expect(coldSecond.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(second.choices[0].text).toBe(coldSecond.choices[0].text);
    // The same prompt again: everything but the last token comes from the cache.
    const again = await complete(warm.url, system + "Question two:");
    expect(again.usage.prompt_tokens_details.cached_tokens).toBe(again.usage.prompt_tokens - 1);
    expect(again.choices[0].text).toBe(second.choices[0].text);
    expect(await metric(warm.url, "inferflux_prefix_cache_hits_total")).toBeGreaterThanOrEqual(2);
  });

  test("many requests with random cancellations leak no KV cells, pins or sequence slots", async () => {
    const rnd = (() => {
      let s = 42;
      return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    })();
    const N = 1000;
    let cancelled = 0;
    for (let batch = 0; batch < N / 20; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const ctl = new AbortController();
          const prompt = (rnd() < 0.5 ? system : "") + `Story ${batch}-${i}:`;
          if (rnd() < 0.3) {
            cancelled++;
            setTimeout(() => ctl.abort(), rnd() * 15);
          }
          await complete(warm.url, prompt, { max_tokens: 4 + Math.floor(rnd() * 12), stream: rnd() < 0.5 }, ctl.signal).catch(() => undefined);
        }),
      );
    }
    expect(cancelled).toBeGreaterThan(100);
    let running = NaN;
    for (let i = 0; i < 100 && running !== 0; i++) {
      running = await metric(warm.url, "inferflux_engine_running_sequences");
      if (running !== 0) await Bun.sleep(20);
    }
    expect(running).toBe(0);
    expect(await metric(warm.url, "inferflux_engine_waiting_requests")).toBe(0);
    expect(await metric(warm.url, "inferflux_engine_free_sequences")).toBe(4);
    expect(await metric(warm.url, "inferflux_prefix_cache_pins")).toBe(0);
    // Every KV cell in use belongs to the prefix cache: nothing is held by finished requests.
    expect(await metric(warm.url, "inferflux_kv_cache_used_cells")).toBe(await metric(warm.url, "inferflux_prefix_cache_tokens"));
  }, 120_000);
});

describe.skipIf(!haveModels)("prefix cache under a small KV cache", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(["--model", STORIES, "--parallel", "2", "--ctx-size", "512"]);
  }, 60_000);
  afterAll(async () => server?.stop());

  test("cached prefixes are evicted to make room, and requests still complete", async () => {
    for (let i = 0; i < 12; i++) {
      const r = await complete(server.url, `Tale number ${i}: ` + "The dog ran to the park and saw a big red ball. ".repeat(6), { max_tokens: 16 });
      expect(r.choices[0].finish_reason).toBe("length");
    }
    const cachedTokens = await metric(server.url, "inferflux_prefix_cache_tokens");
    expect(cachedTokens).toBeLessThanOrEqual(512);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain("inferflux_prefix_cache_tokens");
  });
});

describe.skipIf(!haveModels)("prefix cache RAM tier", () => {
  let tiered: TestServer;
  let cold: TestServer;
  beforeAll(async () => {
    [tiered, cold] = await Promise.all([
      // resident_tokens 0 (the default): idle prefixes leave the KV cache as soon as other work starts.
      startTestServer(["--model", STORIES, "--parallel", "2", "--ctx-size", "2048"]),
      startTestServer(["--model", STORIES, "--parallel", "2", "--ctx-size", "2048", "--set", "cache.enabled=false"]),
    ]);
  }, 60_000);
  afterAll(async () => Promise.all([tiered?.stop(), cold?.stop()]));

  test("an evicted prefix is restored from host memory: cached_tokens counts it, the output equals a cold run, the KV cache holds only what runs", async () => {
    const before = await metric(tiered.url, "inferflux_prefix_cache_tier_snapshots_total");
    await complete(tiered.url, system + "Question one:");
    // The engine goes idle and saves the finished prefix ahead of its eviction.
    expect(await snapshotsAbove(tiered.url, before)).toBe(true);
    // Unrelated work: the idle system-prompt prefix moves out of the KV cache.
    const other = "A cat sat on a mat and looked at the rain falling on the old red roof. ".repeat(6);
    await complete(tiered.url, other);
    expect(await metric(tiered.url, "inferflux_prefix_cache_tier_snapshots_total")).toBeGreaterThanOrEqual(1);
    const restored = await complete(tiered.url, system + "Question two:");
    expect(await metric(tiered.url, "inferflux_prefix_cache_tier_restores_total")).toBeGreaterThanOrEqual(1);
    expect(restored.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(restored.usage.prompt_tokens * 0.8);
    const coldRun = await complete(cold.url, system + "Question two:");
    expect(restored.choices[0].text).toBe(coldRun.choices[0].text);
    // After the next admission only the running request's prefix would stay; idle, at most the last request's cells remain.
    expect(await metric(tiered.url, "inferflux_prefix_cache_tokens")).toBeLessThanOrEqual(restored.usage.prompt_tokens + 24);
  });

  test("prompts that share only a short opening do not keep idle prefixes resident", async () => {
    // Distinct prompts with a common ~15-token opening: hits too short to be worth keeping the rest for.
    const words = ["sun", "moon", "tree", "boat", "bird", "frog", "cake", "rain"];
    let last: any;
    for (let i = 0; i < words.length; i++) {
      last = await complete(tiered.url, `Tom and Sue went out. ${words[i]} ${words[(i + 3) % 8]} was big and ${words[(i + 5) % 8]} was small and ${i} ran far.`);
      expect(last.usage.prompt_tokens_details.cached_tokens).toBeLessThan(32);
    }
    // Each admission moved the earlier idle prefixes out: the KV cache holds about the last request alone.
    expect(await metric(tiered.url, "inferflux_prefix_cache_tokens")).toBeLessThanOrEqual(last.usage.prompt_tokens + last.usage.completion_tokens + 24);
  });

  test("without idle time, idle prefixes moved out under a low hit rate are dropped, not saved on the next request's path", async () => {
    // A long generation keeps the engine busy throughout, so nothing is saved while idle.
    const busy = new AbortController();
    const long = await fetch(`${tiered.url}/v1/completions`, {
      method: "POST", signal: busy.signal, headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, prompt: "The dog", max_tokens: 1500, ignore_eos: true, temperature: 0, stream: true }),
    });
    const reader = long.body!.getReader();
    await reader.read(); // it runs
    try {
      const finished = await complete(tiered.url, "A red kite flew over the hill while the farmer fixed the gate and the cows ate grass. ".repeat(3));
      expect(finished.usage.prompt_tokens_details.cached_tokens).toBeLessThan(32);
      const snapshots = await metric(tiered.url, "inferflux_prefix_cache_tier_snapshots_total");
      // The next distinct prompt moves the finished one out of the KV cache without saving it (~5-10 µs a cell on its TTFT).
      const next = await complete(tiered.url, "Sam had a blue boat and a green hat, and he sailed to the island every day at noon. ".repeat(3));
      expect(next.usage.prompt_tokens_details.cached_tokens).toBeLessThan(32);
      expect(await metric(tiered.url, "inferflux_prefix_cache_tier_snapshots_total")).toBe(snapshots);
      expect((await reader.read()).done).toBe(false); // still running: the engine was never idle
    } finally {
      busy.abort();
      await reader.cancel().catch(() => {});
    }
  });

  test("while idle, cached prefixes are saved to host memory ahead of eviction and stay in the KV cache", async () => {
    const prompt = "The little fox found a big shiny stone by the river and ran home to show it. ".repeat(5);
    const snapshots = await metric(tiered.url, "inferflux_prefix_cache_tier_snapshots_total");
    const first = await complete(tiered.url, prompt + "One:");
    const restores = await metric(tiered.url, "inferflux_prefix_cache_tier_restores_total");
    let saved = snapshots;
    for (let i = 0; i < 50 && saved === snapshots; i++) {
      await Bun.sleep(20);
      saved = await metric(tiered.url, "inferflux_prefix_cache_tier_snapshots_total");
    }
    expect(saved).toBeGreaterThan(snapshots);
    expect(await metric(tiered.url, "inferflux_prefix_cache_tokens")).toBeGreaterThanOrEqual(first.usage.prompt_tokens);
    // Still resident: the next turn hits the KV cache itself, no restore.
    const again = await complete(tiered.url, prompt + "Two:");
    expect(again.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(first.usage.prompt_tokens * 0.8);
    expect(await metric(tiered.url, "inferflux_prefix_cache_tier_restores_total")).toBe(restores);
  });
});

describe.skipIf(!haveModels)("prefix cache disk tier", () => {
  const dir = mkdtempSync(join(tmpdir(), "ifx-kv-disk-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const args = (model: string) => ["--model", model, "--parallel", "2", "--ctx-size", "2048", "--set", `cache.disk.path=${dir}`, "--set", "cache.ram.max_bytes=0"];
  const kvFiles = () => readdirSync(dir).filter((f) => f.endsWith(".ifxkv"));
  const prompt = system + "Question one:";

  test("a prefix saved at shutdown is restored after a restart with the same output; corrupt and foreign files are never loaded", async () => {
    let s = await startTestServer(args(STORIES));
    const first = await complete(s.url, prompt);
    expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);
    await s.stop(); // a graceful stop moves cached prefixes to disk
    expect(kvFiles().length).toBeGreaterThan(0);

    s = await startTestServer(args(STORIES));
    const restored = await complete(s.url, prompt);
    expect(await metric(s.url, "inferflux_prefix_cache_tier_restores_total")).toBe(1);
    expect(restored.usage.prompt_tokens_details.cached_tokens).toBe(restored.usage.prompt_tokens - 1);
    expect(restored.choices[0].text).toBe(first.choices[0].text);
    await s.stop();

    // Flip one byte near the end of every saved file (the KV payload): nothing may be loaded from them.
    for (const f of kvFiles()) {
      const bytes = readFileSync(join(dir, f));
      bytes[bytes.length - 5] ^= 0x40;
      writeFileSync(join(dir, f), bytes);
    }
    s = await startTestServer(args(STORIES));
    const afterCorruption = await complete(s.url, prompt);
    expect(await metric(s.url, "inferflux_prefix_cache_tier_restores_total")).toBe(0);
    expect(afterCorruption.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(afterCorruption.choices[0].text).toBe(first.choices[0].text);
    await s.stop(); // saves a good copy again

    // Another model's server sharing the directory ignores this model's files and leaves them alone.
    const ours = kvFiles();
    expect(ours.length).toBeGreaterThan(0);
    s = await startTestServer(args(STORIES_CHATML));
    const foreign = await complete(s.url, prompt, { model: "stories260K-chatml" });
    expect(foreign.error).toBeUndefined();
    expect(foreign.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(await metric(s.url, "inferflux_prefix_cache_tier_restores_total")).toBe(0);
    await s.stop();
    for (const f of ours) expect(kvFiles()).toContain(f);
  }, 60_000);
});
