import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { loadConfig, envNameOf, leafKeys } from "../../../src/config";
import { ConfigError } from "../../../src/shared/errors";

const yaml = (text: string) => {
  const dir = mkdtempSync(join(tmpdir(), "ifx-cfg-"));
  const f = join(dir, "server.yaml");
  writeFileSync(f, text);
  return f;
};

describe("loadConfig", () => {
  test("defaults", () => {
    const c = loadConfig({ env: {} });
    expect(c.server.port).toBe(8080);
    expect(c.runtime.parallel).toBe(4);
    expect(Object.isFrozen(c.runtime)).toBe(true);
  });
  test("file <- env <- overrides, in that order", () => {
    const f = yaml("server:\n  port: 9000\nruntime:\n  parallel: 2\n  threads: 3\n");
    const c = loadConfig({ file: f, env: { INFERFLUX_RUNTIME_PARALLEL: "6", INFERFLUX_RUNTIME_THREADS: "5" }, overrides: { "runtime.threads": "7" } });
    expect(c.server.port).toBe(9000);
    expect(c.runtime.parallel).toBe(6);
    expect(c.runtime.threads).toBe(7);
  });
  test("the original documents' env vars still work", () => {
    const c = loadConfig({
      env: {
        INFERFLUX_MODEL_PATH: "/m.gguf",
        INFERFLUX_RATE_LIMIT_PER_MINUTE: "60",
        INFERFLUX_GUARDRAIL_BLOCKLIST: "classified, pii",
        INFERFLUX_AUDIT_LOG: "logs/audit.log",
        INFERFLUX_OIDC_ISSUER: "https://issuer.example.com",
        INFERFLUX_OIDC_AUDIENCE: "inferflux",
        INFERFLUX_POLICY_STORE: "config/policy_store.conf",
        INFERFLUX_POLICY_PASSPHRASE: "pw",
        INFERFLUX_MPS_LAYERS: "10",
      },
    });
    expect(c.model.path).toBe("/m.gguf");
    expect(c.rate_limit.requests_per_minute).toBe(60);
    expect(c.guardrails.blocklist).toEqual(["classified", "pii"]);
    expect(c.audit.path).toBe("logs/audit.log");
    expect(c.auth.oidc.issuer).toBe("https://issuer.example.com");
    expect(c.policy_store).toEqual({ path: "config/policy_store.conf", passphrase: "pw" });
    expect(c.runtime.mps_layers).toBe(10);
  });
  test("api keys from YAML in the documented shape", () => {
    const c = loadConfig({ file: yaml("auth:\n  api_keys:\n    - key: dev-key-123\n      scopes: [generate, read, admin]\n"), env: {} });
    expect(c.auth.api_keys[0]).toMatchObject({ key: "dev-key-123", scopes: ["generate", "read", "admin"] });
  });
  test("bad values stop start-up naming the key", () => {
    const bad: [() => unknown, string][] = [
      [() => loadConfig({ env: { INFERFLUX_RUNTIME_PARALLEL: "0" } }), "runtime.parallel"],
      [() => loadConfig({ env: { INFERFLUX_SERVER_PORT: "http" } }), "server.port"],
      [() => loadConfig({ env: {}, overrides: { "runtime.flash_attn": "maybe" } }), "runtime.flash_attn"],
      [() => loadConfig({ env: {}, overrides: { "runtime.nope": "1" } }), "runtime.nope"],
      [() => loadConfig({ file: yaml("runtime:\n  parallel: many\n"), env: {} }), "runtime.parallel"],
      [() => loadConfig({ file: yaml("typo_section: 1\n"), env: {} }), "typo_section"],
      [() => loadConfig({ file: yaml("runtime:\n  parralel: 2\n"), env: {} }), "runtime.parralel"],
      [() => loadConfig({ file: yaml("server: [\n"), env: {} }), "--config"],
      [() => loadConfig({ file: "/nonexistent/x.yaml", env: {} }), "--config"],
      [() => loadConfig({ env: { INFERFLUX_SERVER_METRICS_PUBLIC: "perhaps" } }), "server.metrics_public"],
    ];
    for (const [fn, key] of bad) {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe(key);
    }
  });
  test("every key has an INFERFLUX_* env name", () => {
    expect(envNameOf("runtime.ctx_size")).toBe("INFERFLUX_RUNTIME_CTX_SIZE");
    expect(leafKeys().has("scheduler.max_queue")).toBe(true);
  });
});
