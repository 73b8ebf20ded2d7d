import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createGuardrails, ibanValid, ipv6Valid, luhnValid } from "../../../src/policy/guardrails/index.ts";
import { ConfigError } from "../../../src/shared/errors.ts";

const ALL_PII = { email: "redact", phone: "redact", credit_card: "block", iban: "redact", ip: "log", ssn: "redact" } as const;

describe("blocklist and regexes", () => {
  const g = createGuardrails({ blocklist: ["bad", "very evil plan", "c++"], regexes: ["secret-\\d+", "/^DROP TABLE/m"] });

  test("case-insensitive, word boundaries, whitespace-tolerant phrases", () => {
    expect(g.check("This is BAD.").allowed).toBe(false);
    expect(g.check("This is BAD.").reasons).toEqual(["blocklist:bad"]);
    expect(g.check("a badge and abad").allowed).toBe(true);
    expect(g.check("a Very\n evil   PLAN!").reasons).toEqual(["blocklist:very evil plan"]);
    expect(g.check("I like C++ a lot").allowed).toBe(false);
    expect(g.check("bad_thing").allowed).toBe(true);
    expect(g.check("ünbad").allowed).toBe(true); // Unicode letters count as word characters
  });

  test("regexes: plain (case-insensitive) and /pattern/flags", () => {
    expect(g.check("the SECRET-42 value").reasons).toEqual(["regex:0"]);
    expect(g.check("x\nDROP TABLE users").reasons).toEqual(["regex:1"]);
    expect(g.check("x\ndrop table users").allowed).toBe(true);
  });

  test("verdict shape", () => {
    const v = g.check("hello");
    expect(v).toMatchObject({ allowed: true, action: "allow", reasons: [] });
    expect(v.latencyMs).toBeGreaterThanOrEqual(0);
  });
});

describe("PII", () => {
  test("validators", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(ibanValid("DE89 3704 0044 0532 0130 00")).toBe(true);
    expect(ibanValid("GB82WEST12345698765432")).toBe(true);
    expect(ibanValid("DE89 3704 0044 0532 0130 01")).toBe(false);
    expect(ipv6Valid("2001:db8::1")).toBe(true);
    expect(ipv6Valid("fe80:0:0:0:1ff:fe23:4567:890a")).toBe(true);
    expect(ipv6Valid("12:30:45")).toBe(false);
    expect(ipv6Valid("::")).toBe(false);
  });

  const g = createGuardrails({ pii: ALL_PII });
  const kinds = (text: string) => g.check(text).reasons.sort();

  test.each([
    ["mail me at john.doe+x@example.co.uk now", ["pii:email"]],
    ["call +1 (555) 123-4567 today", ["pii:phone"]],
    ["call 555-123-4567", ["pii:phone"]],
    ["ring +44 20 7946 0958", ["pii:phone"]],
    ["card 4111 1111 1111 1111 exp", ["pii:credit_card"]],
    ["card 4111-1111-1111-1111", ["pii:credit_card"]],
    ["iban DE89 3704 0044 0532 0130 00 thanks", ["pii:iban"]],
    ["iban GB82WEST12345698765432", ["pii:iban"]],
    ["host 192.168.10.200 is up", ["pii:ipv4"]],
    ["host 2001:db8:85a3::8a2e:370:7334 up", ["pii:ipv6"]],
    ["ssn 123-45-6789", ["pii:ssn"]],
  ])("detects %s", (text, expected) => {
    expect(kinds(text)).toEqual(expected);
  });

  test.each([
    "card 4111 1111 1111 1112",
    "iban DE89 3704 0044 0532 0130 01",
    "version 1.2.3.4.5 and v2.10.3",
    "at 2024-01-15 10:30 we met",
    "pi is 3.14159265358",
    "time 12:30:45",
    "ssn 000-12-3456 or 666-12-3456",
    "999.1.1.1",
    "user@localhost",
    "order 12345",
  ])("ignores look-alikes: %s", (text) => {
    expect(kinds(text)).toEqual([]);
  });

  test("actions: redact, block, log", () => {
    const r = g.check("Write to a@b.com or 555-123-4567, SSN 123-45-6789.");
    expect(r.allowed).toBe(true);
    expect(r.action).toBe("redact");
    expect(r.redactedText).toBe("Write to [REDACTED:email] or [REDACTED:phone], SSN [REDACTED:ssn].");
    const b = g.check("pay with 4111111111111111 from a@b.com");
    expect(b).toMatchObject({ allowed: false, action: "block" });
    expect(b.redactedText).toBeUndefined();
    const l = g.check("server 10.0.0.1");
    expect(l).toMatchObject({ allowed: true, action: "log", reasons: ["pii:ipv4"] });
  });

  test("the matched values never appear in reasons", () => {
    const v = g.check("a@b.com 123-45-6789");
    expect(JSON.stringify(v.reasons)).not.toContain("a@b.com");
  });

  test("off / unlisted kinds are not checked", () => {
    const h = createGuardrails({ pii: { email: "off" } });
    expect(h.check("a@b.com 555-123-4567").reasons).toEqual([]);
  });
});

describe("stream checker", () => {
  const g = createGuardrails({ blocklist: ["bad", "forbidden phrase"], pii: { email: "block", phone: "redact" } });

  /** Feeds deltas; returns what was released, the index of the delta that blocked (-1 if none) and the verdict. */
  function feed(deltas: string[], s = g.createStreamChecker()) {
    let released = "";
    let blockedAt = -1;
    for (let i = 0; i < deltas.length; i++) {
      const step = s.push(deltas[i]);
      released += step.release;
      if (step.verdict && blockedAt < 0) blockedAt = i;
    }
    const end = s.end();
    released += end.release;
    return { released, blockedAt, verdict: end.verdict, s };
  }

  test("a term split across deltas is caught as soon as it is decidable and never sent in part", () => {
    const s = g.createStreamChecker();
    expect(s.push("this is b")).toEqual({ release: "this is ", verdict: null }); // "b" could start "bad"
    expect(s.push("a")).toEqual({ release: "", verdict: null });
    expect(s.push("d")).toEqual({ release: "", verdict: null }); // could still become "badge"
    const step = s.push(" news");
    expect(step.release).toBe("");
    expect(step.verdict).toMatchObject({ allowed: false, action: "block", reasons: ["blocklist:bad"] });
    expect(s.blocked).toBe(true);
    expect(s.push("more")).toEqual({ release: "", verdict: step.verdict });
  });

  test("on a block the text before the match is released, whatever the chunking", () => {
    const text = "it was fine, then bad news came";
    const expected = "it was fine, then ";
    const chunkings = [[text], text.split(""), text.split(" ").map((w, i, a) => (i < a.length - 1 ? `${w} ` : w)), [text.slice(0, 19), text.slice(19)]];
    for (const deltas of chunkings) {
      const r = feed(deltas);
      expect(r.released).toBe(expected);
      expect(r.verdict.allowed).toBe(false);
    }
  });

  test("no false positive when the word continues; end() confirms a trailing term", () => {
    const r = feed(["a ba", "d", "ge"]);
    expect(r.verdict.allowed).toBe(true);
    expect(r.released).toBe("a badge");
    const t = g.createStreamChecker();
    expect(t.push("that is forbidden ").release).toBe("that is "); // a prefix of "forbidden phrase" waits
    expect(t.push("phr")).toEqual({ release: "", verdict: null });
    expect(t.push("ase")).toEqual({ release: "", verdict: null });
    expect(t.end()).toMatchObject({ release: "", verdict: { allowed: false, reasons: ["blocklist:forbidden phrase"] } });
    // The phrase did not complete: everything is released.
    expect(feed(["that is forbidden ", "fruit"]).released).toBe("that is forbidden fruit");
  });

  test("held text is released as soon as it cannot be a term; nothing is lost or repeated", () => {
    const h = createGuardrails({ blocklist: ["park"] });
    const s = h.createStreamChecker();
    expect(s.push("in the pa").release).toBe("in the ");
    expect(s.push("rt").release).toBe("part");
    expect(s.push(" of").release).toBe(" of");
    expect(s.end()).toMatchObject({ release: "", verdict: { allowed: true } });
    const text = "Once upon a time, in a park-like place, a parking lot and a spark.";
    const chars = feed(text.split(""), h.createStreamChecker());
    expect(chars.blockedAt).toBeGreaterThan(0);
    expect(chars.released).toBe("Once upon a time, in a ");
  });

  test("char-by-char over a long stream, windows never produce false positives", () => {
    const h = createGuardrails({ blocklist: ["ad"] });
    const text = `${"x".repeat(300)}bad ${"y".repeat(700)}`;
    const r = feed(text.split(""), h.createStreamChecker({ window: 16 }));
    expect(r.verdict.allowed).toBe(true);
    expect(r.released).toBe(text);
    const hit = `${"z ".repeat(2000)}ad!`;
    const r2 = feed(hit.split(""), h.createStreamChecker());
    expect(r2.blockedAt).toBe(hit.length - 1); // detected on the "!" right after the term
    expect(r2.released).toBe("z ".repeat(2000));
  });

  test("block-action PII split across deltas: the address is never sent; end() reports redact/log PII", () => {
    const s = g.createStreamChecker();
    expect(s.push("contact jo").release).toBe("contact ");
    expect(s.push("hn@exam").release).toBe("");
    expect(s.push("ple.com").verdict).toBeNull();
    const step = s.push(" please");
    expect(step.verdict).toMatchObject({ allowed: false, reasons: ["pii:email"] });
    expect(step.release).toBe("");
    const t = feed(["call 555-123-", "4567 now"]);
    expect(t.verdict).toMatchObject({ allowed: true, action: "redact", redactedText: "call [REDACTED:phone] now" });
    expect(t.released).toBe("call 555-123-4567 now"); // a stream cannot redact; the verdict is audited
  });

  test("no block rules: every delta is released as it comes", () => {
    const h = createGuardrails({ pii: { email: "log" } });
    const s = h.createStreamChecker();
    expect(s.push("mail a@b.co")).toEqual({ release: "mail a@b.co", verdict: null });
    expect(s.end()).toMatchObject({ release: "", verdict: { allowed: true, action: "log" } });
  });
});

describe("OPA", () => {
  let server: ReturnType<typeof Bun.serve>;
  let lastInput: unknown = null;
  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        lastInput = ((await req.json()) as { input: unknown }).input;
        if (url.pathname === "/allow") return Response.json({ result: true });
        if (url.pathname === "/deny") return Response.json({ result: { allow: false, reasons: ["tenant over budget"] } });
        if (url.pathname === "/slow") {
          await Bun.sleep(400);
          return Response.json({ result: true });
        }
        if (url.pathname === "/undefined") return Response.json({});
        return new Response("err", { status: 500 });
      },
    });
  });
  afterAll(() => server.stop(true));
  const at = (path: string, failOpen = false, timeoutMs = 200) =>
    createGuardrails({ blocklist: ["bad"] }, { opa: { endpoint: `http://127.0.0.1:${server.port}${path}`, timeoutMs, failOpen } });

  test("allow / deny with reasons; input carries context", async () => {
    const v = await at("/allow").evaluate({ text: "hi", model: "m", route: "/v1/x" });
    expect(v).toMatchObject({ allowed: true, action: "allow" });
    expect(lastInput).toMatchObject({ text: "hi", model: "m", route: "/v1/x", direction: "prompt" });
    const d = await at("/deny").evaluate({ text: "hi" });
    expect(d).toMatchObject({ allowed: false, action: "block", reasons: ["opa:tenant over budget"] });
  });

  test("local block short-circuits OPA", async () => {
    lastInput = null;
    const v = await at("/allow").evaluate({ text: "bad" });
    expect(v.allowed).toBe(false);
    expect(lastInput).toBeNull();
  });

  test("timeout, errors and undefined decisions follow the fail mode", async () => {
    const t0 = performance.now();
    const closed = await at("/slow", false, 100).evaluate({ text: "hi" });
    expect(performance.now() - t0).toBeLessThan(350);
    expect(closed).toMatchObject({ allowed: false, reasons: ["opa:unavailable"] });
    const open = await at("/error", true).evaluate({ text: "hi" });
    expect(open).toMatchObject({ allowed: true, action: "log", reasons: ["opa:unavailable(fail-open)"] });
    expect((await at("/undefined").evaluate({ text: "hi" })).allowed).toBe(false);
  });
});

describe("configuration", () => {
  const bad = (settings: object, key: string, opts: object = {}) => {
    try {
      createGuardrails(settings as never, opts as never);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe(key);
      return;
    }
    throw new Error("expected ConfigError");
  };
  test("bad values name the key", () => {
    bad({ regexes: ["ok", "(unclosed"] }, "guardrails.regexes[1]");
    bad({ blocklist: ["fine", ""] }, "guardrails.blocklist[1]");
    bad({ pii: { passport: "block" } }, "guardrails.pii.passport");
    bad({ pii: { email: "shred" } }, "guardrails.pii.email");
  });
});

describe("performance", () => {
  test("local checks on a ~2 KB prompt take well under 1 ms", () => {
    const g = createGuardrails({
      blocklist: Array.from({ length: 50 }, (_, i) => `forbiddenword${i}`).concat(["very bad phrase"]),
      regexes: ["secret-[0-9]{6}", "/password\\s*[:=]/i", "api[_-]?key"],
      pii: ALL_PII,
    });
    const base =
      "Please summarise the following meeting notes. The team discussed quarterly planning, hiring, the roadmap " +
      "for version 2.3.1 and the migration to the new cluster at 2024-05-01 09:30. Contact alice@example.com or " +
      "call +1 (555) 010-9999 with questions. Budget: 12,500 EUR, invoice 4481-22. ";
    let prompt = "";
    while (prompt.length < 2048) prompt += base;
    prompt = prompt.slice(0, 2048);
    for (let i = 0; i < 50; i++) g.check(prompt); // warm up
    const runs = 500;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) g.check(prompt);
    const avg = (performance.now() - t0) / runs;
    const s0 = performance.now();
    const s = g.createStreamChecker();
    for (let i = 0; i < prompt.length; i += 8) s.push(prompt.slice(i, i + 8));
    s.end();
    const streamMs = performance.now() - s0;
    console.log(`guardrails: check(2 KB) avg ${(avg * 1000).toFixed(1)} µs; stream of 256 deltas ${streamMs.toFixed(2)} ms total`);
    expect(avg).toBeLessThan(5);
  });
});
