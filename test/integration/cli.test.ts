/**
 * The client commands of `inferflux` against the real server: chat (one-shot,
 * streamed and not), complete, models, status, and a reader that goes away
 * early (`inferflux chat ... | head`).
 */
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { haveModels, STORIES_CHATML } from "../helpers/models";
import { REPO, startTestServer, type TestServer } from "../helpers/server";
import { runCli } from "../helpers/policy-helpers";

const MODEL = "stories260K-chatml";

describe.skipIf(!haveModels)("inferflux client commands", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(["--model", STORIES_CHATML]);
  }, 60_000);
  afterAll(async () => server?.stop());

  const at = () => ["--url", server.url];

  test("chat --message streams the same greedy answer as --no-stream", async () => {
    const args = ["chat", ...at(), "--message", "user:Hello", "--temperature", "0", "--max-tokens", "24"];
    const streamed = await runCli(args);
    const whole = await runCli([...args, "--no-stream"]);
    expect(streamed.code).toBe(0);
    expect(whole.code).toBe(0);
    expect(streamed.stdout.trim().length).toBeGreaterThan(0);
    expect(streamed.stdout).toBe(whole.stdout);
  });

  test("chat reads a conversation from a pipe: every line is answered, with history, then /exit", async () => {
    const greedy = ["--temperature", "0", "--max-tokens", "12"];
    const oneShot = await runCli(["chat", ...at(), "--message", "user:Hello", ...greedy]);
    const { code, stdout, stderr } = await runCli(["chat", ...at(), ...greedy], {}, 20_000, "Hello\nWhat next?\n/reset\nHello\n/exit\n");
    expect(stderr).toBe("");
    expect(code).toBe(0);
    // After the banner: Hello's answer, then What next?'s (with Hello before it in the history, so
    // its own text), then Hello's again after /reset. (No "> " prompts once the piped input ended.)
    const one = oneShot.stdout.trim();
    const body = stdout.slice(stdout.indexOf("\n") + 1);
    expect(body).toStartWith(`> ${one}\n`);
    const parts = body.slice(2).split(one);
    expect(parts.length).toBe(3);
    expect(parts[1].trim().length).toBeGreaterThan(0);
  });

  test("complete --stream prints a continuation", async () => {
    const r = await runCli(["complete", ...at(), "--prompt", "Once upon a time", "--stream", "--max-tokens", "16", "--temperature", "0"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
  });

  test("models lists the loaded model; status exits 0 and names it", async () => {
    const models = await runCli(["models", ...at()]);
    expect(models.code).toBe(0);
    expect(models.stdout).toContain(MODEL);
    const status = await runCli(["status", ...at()]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`model ${MODEL}`);
  });

  test("a reader that closes the pipe early ends the command quietly, with status 0", async () => {
    const proc = Bun.spawn([process.execPath, resolve(REPO, "cli/main.ts"), "chat", ...at(), "--message", "user:Tell me a story", "--max-tokens", "1500"], {
      cwd: REPO, stdout: "pipe", stderr: "pipe",
    });
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the first streamed text, then go away like `head` does
    await reader.cancel();
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    const stderr = await new Response(proc.stderr).text();
    await proc.exited;
    clearTimeout(timer);
    expect(stderr).not.toContain("EPIPE");
    expect(proc.exitCode).toBe(0);
  });
});

describe.skipIf(!haveModels)("inferflux chat --model file.gguf", () => {
  test("runs the model in-process, with no server, prints only the answer and exits at once", async () => {
    const t = performance.now();
    // INFERFLUX_LOG_LEVEL unset: the command's own default.
    const r = await runCli(["chat", "--model", STORIES_CHATML, "--message", "user:Hello", "--temperature", "0", "--max-tokens", "12"], { INFERFLUX_LOG_LEVEL: undefined }, 60_000);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    expect(r.stderr).toBe(""); // no log lines in the conversation
    // Loading this model takes well under a second; a pending shutdown timer once kept it alive 10 s.
    expect(performance.now() - t).toBeLessThan(6_000);
  }, 90_000);

  test("a .gguf path that does not exist is named in the error, exit 1", async () => {
    const r = await runCli(["chat", "--model", "/nonexistent/model.gguf", "--message", "user:Hi"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("model file /nonexistent/model.gguf does not exist");
  });
});
