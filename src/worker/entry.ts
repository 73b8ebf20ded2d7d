/**
 * The engine worker's entry: loads the model, then runs the step loop,
 * taking messages (add, abort, ...) between steps. Every native pointer
 * lives in this thread.
 */
import { createLogger, parseLevel, setLogLevel } from "../shared/logger";
import type { FromWorker, RequestOutput, ToWorker } from "../engine/messages";
import { Runner } from "./runner";
import { EngineCore } from "./core";
import { OutputBatcher } from "./output-batcher";
import { createCacheTiers } from "./cache-tiers";
import { StepInterrupt } from "../engine/step-interrupt";
import { OutputHandoff } from "../engine/output-handoff";

declare const self: Worker;

const log = createLogger("worker");
let core: EngineCore | undefined;
let runner: Runner | undefined;
let wake: (() => void) | undefined;
let stopping = false;
let interrupt: StepInterrupt | undefined;
let handoff: OutputHandoff | undefined;
const batcher = new OutputBatcher(Number(process.env.INFERFLUX_OUTPUT_FLUSH_MS ?? 10));

const post = (m: FromWorker) => self.postMessage(m);

/** How long the worker gives the HTTP thread to deliver an urgent message before it steps on. */
const HANDOFF_MAX_MS = 2;

/** Posts outputs; urgent ones (first token or text, an end) get the CPU handed to the HTTP thread: see OutputHandoff. */
function postOutputs(outputs: RequestOutput[], urgent: boolean): void {
  if (!urgent || !handoff) return post({ type: "outputs", outputs });
  const marked = handoff.mark();
  post({ type: "outputs", outputs, urgent: true });
  handoff.awaitDelivery(marked, HANDOFF_MAX_MS);
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  try {
    switch (msg.type) {
      case "init":
        return init(msg.init, new StepInterrupt(msg.interrupt), new OutputHandoff(msg.handoff));
      case "add":
        interrupt?.taken();
        if (!core) return post({ type: "outputs", outputs: [{ id: msg.request.id, text: "", tokenIds: [], finishReason: "error", error: { status: 503, code: "model_not_loaded", message: "the model is still loading" } }] });
        core.add(msg.request);
        break;
      case "abort":
        core?.abort(msg.ids);
        break;
      case "tokenize":
        return reply(msg.callId, () => runner!.tokenize(msg.text, msg.addSpecial, msg.parseSpecial));
      case "detokenize":
        return reply(msg.callId, () => runner!.model.vocab.detokenize(msg.tokens.filter((t) => runner!.model.vocab.isValidToken(t))));
      case "stats":
        return reply(msg.callId, () => core!.statsSnapshot());
      case "shutdown":
        stopping = true;
        break;
    }
  } catch (e) {
    log.error("worker message failed", { type: msg.type, error: String(e) });
  }
  wake?.();
};

function reply(callId: number, fn: () => unknown): void {
  try {
    post({ type: "reply", callId, result: fn() });
  } catch (e) {
    post({ type: "reply", callId, error: (e as Error).message });
  }
}

function init(cfg: Extract<ToWorker, { type: "init" }>["init"], stepInterrupt: StepInterrupt, outputHandoff: OutputHandoff): void {
  handoff = outputHandoff;
  setLogLevel(parseLevel(cfg.logLevel) ?? "info");
  try {
    let lastReported = -1;
    runner = new Runner(cfg, log, (f) => {
      const pct = Math.floor(f * 10);
      if (pct !== lastReported) {
        lastReported = pct;
        post({ type: "progress", fraction: f });
      }
    });
    interrupt = stepInterrupt;
    runner.ctx.setInterrupt(stepInterrupt.flags);
    core = new EngineCore(runner, log, cfg.stepTokenBudget, cfg.prefillChunk, createCacheTiers(runner, cfg, log), stepInterrupt);
    post({ type: "ready", model: runner.modelInfo() });
    void loop(cfg.admissionWindowMs);
  } catch (e) {
    post({ type: "fatal", message: (e as Error).message });
  }
}

/**
 * After this long without a step the engine counts as idle:
 * - llama.cpp's pool threads, which busy-poll a core for ~200 ms after a
 *   decode, are paused (the next decode wakes them). Not at once: a request
 *   that follows right away would pay their wake-up (measured, 100-token
 *   prompts one after another: TTFT p95 16-18 ms spinning, 19-32 ms paused).
 * - idle-time work (saving cached prefixes to the tiers) starts. It runs in
 *   pieces, taking messages between them, but a piece costs ~5-10 µs a cell
 *   (~10 ms for a 1,000-token prefix) and a request arriving meanwhile waits
 *   for it: clients that send their next request as soon as the last one
 *   finished must not pay that on every request.
 */
const QUIET_SPELL_MS = 100;
let lastStepEnd = 0;

/** Resolves on the next message the worker takes, or after `timeoutMs` when given. */
function nextMessage(timeoutMs?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      wake = undefined;
      resolve();
    }, Math.max(0, timeoutMs));
    wake = () => {
      clearTimeout(timer);
      wake = undefined;
      resolve();
    };
  });
}

/** Returns when there is work (or the worker stops); after a quiet spell, pauses the thread pools and does idle-time work meanwhile. */
async function idle(): Promise<void> {
  let paused = false;
  while (!core!.hasWork && !stopping) {
    const quietFor = performance.now() - lastStepEnd;
    if (quietFor < QUIET_SPELL_MS) {
      await nextMessage(QUIET_SPELL_MS - quietFor);
      continue;
    }
    if (!paused) runner!.ctx.pauseThreads();
    paused = true;
    if (core!.idleWork()) await new Promise<void>((r) => setImmediate(r));
    else await nextMessage();
  }
}

/**
 * Steps while there is work; sleeps when idle. Yields to the message queue
 * between steps. Requests that ran together and finished together (clients
 * in a loop) tend to come back together: after such a busy spell the first
 * new request waits a few milliseconds for the others, so they share one
 * prefill step instead of queuing behind a step of their own.
 */
async function loop(windowMs: number): Promise<void> {
  let busyPeak = 0;
  while (!stopping) {
    if (!core!.hasWork) {
      const rest = batcher.take(performance.now(), true);
      if (rest.length) post({ type: "outputs", outputs: rest });
      await idle();
      // Requests posted together wake the loop with the first; take the rest before the first step.
      await new Promise<void>((r) => setImmediate(r));
      if (core!.numActive === 0) continue; // woken by a call that is not a request
      const until = performance.now() + windowMs;
      while (!stopping && core!.numActive < busyPeak && performance.now() < until) await nextMessage(until - performance.now());
      busyPeak = 0;
      continue;
    }
    busyPeak = Math.max(busyPeak, core!.numActive);
    batcher.add(core!.step());
    lastStepEnd = performance.now();
    const outputs = batcher.take(lastStepEnd);
    if (outputs.length) postOutputs(outputs, batcher.tookUrgent);
    await new Promise<void>((r) => setImmediate(r));
  }
  // Cached prefixes outlive the process in the disk tier, when there is one.
  await core?.shutdownCache().catch((e) => log.warn("prefix cache shutdown failed", { error: String(e) }));
  runner?.free();
  process.exit(0);
}
