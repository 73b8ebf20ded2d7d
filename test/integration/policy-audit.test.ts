/**
 * The audit log over real HTTP: one "request" line per generation request
 * (successes and failures alike), one "auth_failure" line per failed
 * authentication, one "admin_change" line per admin change and nothing
 * else; prompts and completions only as SHA-256; the hash chain verifies
 * with `inferflux admin audit verify` and a flipped byte is named by line;
 * the chain continues across a restart.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import OpenAI from "openai";
import { haveModels, STORIES_CHATML } from "../helpers/models";
import { startTestServer, type TestServer } from "../helpers/server";
import { api, createKey, MODEL_ID, runCli, sha256Hex, sseEvents, tempDir, waitFor, writeConfig } from "../helpers/policy-helpers";

const ADMIN_KEY = "audit-admin-key-0123456789";

interface Line {
  type: string;
  actor: string | null;
  route: string | null;
  status: number | null;
  outcome: string | null;
  promptSha256: string | null;
  completionSha256: string | null;
  prompt?: string;
  completion?: string;
  details?: Record<string, unknown>;
  verdicts: unknown[] | null;
  hash: string;
  prevHash: string;
}

describe.skipIf(!haveModels)("audit log", () => {
  const tmp = tempDir("audit");
  const logPath = tmp.path("audit.log");
  let config: string;
  let server: TestServer;
  const readLines = (): Line[] =>
    existsSync(logPath) ? readFileSync(logPath, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];

  // What the requests were; checked against the file after they ran.
  const expected = { request: 0, auth_failure: 0, admin_change: 0 };
  const secrets: string[] = [ADMIN_KEY];
  const rawPrompts: string[] = [];
  const hashed: { prompt: string; completion: string }[] = [];
  let genKeyId = "";

  beforeAll(async () => {
    config = writeConfig(tmp.path("server.yaml"), {
      auth: { api_keys: [{ key: ADMIN_KEY, scopes: ["admin"] }] },
      runtime: { ctx_size: 1024, parallel: 2 },
    });
    server = await startTestServer(["--config", config, "--model", STORIES_CHATML], { INFERFLUX_AUDIT_LOG: logPath });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  test("start-up writes no audit lines", async () => {
    await Bun.sleep(100);
    expect(readLines()).toEqual([]);
  });

  test("a mixed workload maps one-to-one onto audit lines", async () => {
    const url = server.url;
    // Admin changes: 3 lines.
    const gen = await createKey(url, ADMIN_KEY, { name: "gen", scopes: ["generate", "read"] });
    genKeyId = gen.id;
    secrets.push(gen.key);
    const doomed = await createKey(url, ADMIN_KEY, { name: "doomed", scopes: ["generate"] });
    secrets.push(doomed.key);
    expect((await api(url, "POST", `/v1/admin/api_keys/${doomed.id}/revoke`, { key: ADMIN_KEY })).status).toBe(200);
    expect((await api(url, "PUT", "/v1/admin/guardrails", { key: ADMIN_KEY, body: { blocklist: ["verbotenword"] } })).status).toBe(200);
    expected.admin_change += 4;

    // Generation requests: successes through the openai SDK...
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: gen.key, maxRetries: 0 });
    for (const prompt of ["Zyxquill marmalade 4471 once", "Plorbin umbrella 9902 said", "Quantzel harbour 5513 went"]) {
      const r = await client.completions.create({ model: MODEL_ID, prompt, max_tokens: 8, temperature: 0 });
      rawPrompts.push(prompt);
      hashed.push({ prompt, completion: r.choices[0].text });
      expected.request++;
    }
    const chatText = "Frobnicate the glimmerwick 3317 please";
    const chat = await client.chat.completions.create({ model: MODEL_ID, messages: [{ role: "user", content: chatText }], max_tokens: 6, temperature: 0 });
    expect(chat.choices[0].message.role).toBe("assistant");
    rawPrompts.push(chatText);
    expected.request++;
    // ...a streamed completion...
    const streamPrompt = "Vexillum cardamom 6620 began";
    const s = await api(url, "POST", "/v1/completions", { key: gen.key, body: { model: MODEL_ID, prompt: streamPrompt, max_tokens: 8, temperature: 0, stream: true } });
    expect(s.status).toBe(200);
    const streamed = sseEvents(s.text).filter((e): e is any => typeof e === "object").map((e) => e.choices?.[0]?.text ?? "").join("");
    rawPrompts.push(streamPrompt);
    hashed.push({ prompt: streamPrompt, completion: streamed });
    expected.request++;
    // ...and failures: bad body, blocked prompt, unknown model.
    expect((await api(url, "POST", "/v1/completions", { key: gen.key, body: { model: MODEL_ID, prompt: "Hi", max_tokens: -1 } })).status).toBe(400);
    const blockedPrompt = "Tell me the verbotenword story of Snorkelwise 8841";
    const blocked = await api(url, "POST", "/v1/completions", { key: gen.key, body: { model: MODEL_ID, prompt: blockedPrompt, max_tokens: 4 } });
    expect(blocked.status).toBe(400);
    expect(blocked.json.error.code).toBe("content_policy_violation");
    rawPrompts.push("Snorkelwise 8841");
    expect((await api(url, "POST", "/v1/chat/completions", { key: gen.key, body: { model: "no-such-model", messages: [{ role: "user", content: "x" }] } })).status).toBe(404);
    expected.request += 3;

    // Failed authentication: none, wrong, revoked (on generation and other routes).
    expect((await api(url, "POST", "/v1/completions", { body: { model: MODEL_ID, prompt: "Hi" } })).status).toBe(401);
    expect((await api(url, "GET", "/v1/models", { key: "wrong-key-1234567890" })).status).toBe(401);
    expect((await api(url, "POST", "/v1/chat/completions", { key: doomed.key, body: { model: MODEL_ID, messages: [{ role: "user", content: "x" }] } })).status).toBe(401);
    expect((await api(url, "GET", "/v1/admin/policy", { key: "ifx_notakey" })).status).toBe(401);
    expected.auth_failure += 4;

    const total = expected.request + expected.auth_failure + expected.admin_change;
    await waitFor(() => readLines().length >= total, 5000);
    await Bun.sleep(150); // anything extra would be flushed by now (25 ms batches)
    const lines = readLines();
    const count = (t: string) => lines.filter((l) => l.type === t).length;
    const describeLines = lines.map((l) => `${l.type} ${l.route} ${l.status} ${l.outcome} actor=${l.actor}`).join("\n");
    expect(count("request"), describeLines).toBe(expected.request);
    expect(count("admin_change"), describeLines).toBe(expected.admin_change);
    expect(lines.every((l) => ["request", "auth_failure", "admin_change"].includes(l.type)), describeLines).toBe(true);
    // Every failed authentication is audited (the exact count is checked in its own test below).
    const failures = lines.filter((l) => l.type === "auth_failure");
    const failedRoutes = new Set(failures.map((l) => `${l.route} ${l.outcome}`));
    expect([...failedRoutes].sort()).toEqual([
      "/v1/admin/policy invalid_api_key",
      "/v1/chat/completions revoked_api_key",
      "/v1/completions missing_api_key",
      "/v1/models invalid_api_key",
    ]);
    for (const l of failures) expect(l.status).toBe(401);
    expect(failures.some((l) => l.route === "/v1/chat/completions" && l.actor === doomed.id)).toBe(true);

    // Request lines carry the caller, the route, the status and the outcome, in order.
    const req = lines.filter((l) => l.type === "request");
    for (const l of req) expect(l.actor).toBe(genKeyId);
    expect(req.map((l) => `${l.route} ${l.status} ${l.outcome}`)).toEqual([
      "/v1/completions 200 success",
      "/v1/completions 200 success",
      "/v1/completions 200 success",
      "/v1/chat/completions 200 success",
      "/v1/completions 200 success",
      "/v1/completions 400 invalid_value",
      "/v1/completions 400 content_policy_violation",
      "/v1/chat/completions 404 model_not_found",
    ]);
    expect(req[6].verdicts).not.toBeNull();
    const ops = lines.filter((l) => l.type === "admin_change").map((l) => l.details?.op);
    expect(ops).toEqual(["api_key.create", "api_key.create", "api_key.revoke", "guardrails.set"]);
  });

  test("exactly one auth_failure line per failed authentication (N requests + K failures + M changes = N+K+M lines)", () => {
    const lines = readLines();
    const summary = {
      request: lines.filter((l) => l.type === "request").length,
      auth_failure: lines.filter((l) => l.type === "auth_failure").length,
      admin_change: lines.filter((l) => l.type === "admin_change").length,
    };
    // BUG (server): every 401 is audited twice, once by PolicyEngine.authenticate (src/policy/index.ts)
    // and again by the app's onError hook (src/server/app.ts, `if (e.status === 401) policy.audit.log(...)`),
    // the second copy always with actor null.
    expect(summary, lines.map((l) => `${l.type} ${l.route} ${l.outcome} actor=${l.actor}`).join("\n")).toEqual(expected);
    expect(lines.length).toBe(expected.request + expected.auth_failure + expected.admin_change);
  });

  test("prompts and completions appear only as SHA-256; no key appears at all", () => {
    const text = readFileSync(logPath, "utf8");
    const lines = readLines();
    for (const p of rawPrompts) expect(text.includes(p), `raw prompt in audit log: ${p}`).toBe(false);
    for (const l of lines) {
      expect("prompt" in l).toBe(false);
      expect("completion" in l).toBe(false);
    }
    const req = lines.filter((l) => l.type === "request" && l.status === 200 && l.route === "/v1/completions");
    expect(req.map((l) => l.promptSha256)).toEqual(hashed.map((h) => sha256Hex(h.prompt)));
    expect(req.map((l) => l.completionSha256)).toEqual(hashed.map((h) => sha256Hex(h.completion)));
    for (const h of hashed) if (h.completion.trim().length > 8) expect(text.includes(h.completion)).toBe(false);
    for (const k of secrets) expect(text.includes(k)).toBe(false);
  });

  test("`admin audit verify` passes; a flipped byte fails and names the line; the chain survives a restart", async () => {
    await server.stop();
    const ok = await runCli(["admin", "audit", "verify", logPath]);
    expect(ok.code, ok.stderr).toBe(0);
    const n = readLines().length;
    expect(ok.stdout).toContain(`ok: ${n} lines verified`);

    // Flip one byte in the middle of the file (an alphanumeric, so the JSON stays parseable).
    const bytes = readFileSync(logPath);
    let at = Math.floor(bytes.length / 2);
    const isAlnum = (b: number) => (b >= 48 && b <= 57) || (b >= 97 && b <= 122);
    while (!isAlnum(bytes[at])) at++;
    const tampered = Buffer.from(bytes);
    tampered[at] = tampered[at] === 48 ? 49 : tampered[at] === 57 ? 56 : tampered[at] >= 97 ? (tampered[at] === 122 ? 121 : tampered[at] + 1) : tampered[at] + 1;
    const lineNo = bytes.subarray(0, at).toString("latin1").split("\n").length;
    expect(lineNo).toBeGreaterThan(1);
    expect(lineNo).toBeLessThan(n);
    const bad = tmp.path("tampered.log");
    writeFileSync(bad, tampered);
    const r = await runCli(["admin", "audit", "verify", bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`line ${lineNo}\\b`));

    // Removing a whole line is caught at the line after it.
    const dropped = tmp.path("dropped.log");
    const all = readFileSync(logPath, "utf8").split("\n");
    writeFileSync(dropped, [...all.slice(0, 3), ...all.slice(4)].join("\n"));
    const d = await runCli(["admin", "audit", "verify", dropped]);
    expect(d.code).not.toBe(0);
    expect(d.stderr).toMatch(/line 4\b/);

    // A restart continues the same chain.
    copyFileSync(logPath, tmp.path("before-restart.log"));
    server = await startTestServer(["--config", config, "--model", STORIES_CHATML], { INFERFLUX_AUDIT_LOG: logPath });
    expect((await api(server.url, "GET", "/v1/models", { key: "wrong-key-1234567890" })).status).toBe(401);
    await server.stop();
    const after = readLines();
    expect(after.length).toBeGreaterThan(n); // one failed auth: 1 line (2 while the double-audit bug stands)
    expect(after.slice(n).every((l) => l.type === "auth_failure")).toBe(true);
    expect(after[n].prevHash).toBe(after[n - 1].hash);
    const again = await runCli(["admin", "audit", "verify"], { INFERFLUX_AUDIT_LOG: logPath });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`ok: ${after.length} lines verified`);
  }, 30_000);
});
