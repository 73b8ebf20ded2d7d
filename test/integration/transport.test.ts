/**
 * Transport: HTTPS with configured certificates, CORS for configured origins
 * (never a wildcard with credentials), and no foreign Host when bound to localhost.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../helpers/server";

const haveOpenssl = Bun.which("openssl") !== null;

describe.skipIf(!haveOpenssl)("TLS and CORS", () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ifx-tls-"));
    const gen = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]);
    if (gen.exitCode !== 0) throw new Error(gen.stderr.toString());
    writeFileSync(join(dir, "server.yaml"), [
      "server:",
      `  tls: { cert_file: ${join(dir, "cert.pem")}, key_file: ${join(dir, "key.pem")} }`,
      "  cors_origins: [https://app.example.com]",
    ].join("\n"));
    server = await startTestServer(["--config", join(dir, "server.yaml")], { INFERFLUX_MODEL_PATH: "" }, false).catch(async () => {
      throw new Error("server did not start");
    });
  }, 60_000);
  afterAll(async () => server?.stop());

  // startTestServer polls over http; with TLS it never sees /livez, so poll https here.
  const https = (path: string, init: RequestInit = {}) =>
    fetch(`https://127.0.0.1:${server.port}${path}`, { ...init, tls: { rejectUnauthorized: false } } as RequestInit);

  test("serves HTTPS; plain HTTP gets no answer", async () => {
    const r = await https("/livez");
    expect(r.status).toBe(200);
    expect(await fetch(`http://127.0.0.1:${server.port}/livez`).then((x) => x.status, () => "refused")).not.toBe(200);
  });

  test("CORS: configured origin with credentials; others get no CORS headers", async () => {
    const ok = await https("/healthz", { headers: { origin: "https://app.example.com" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
    const pre = await https("/v1/models", { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "GET" } });
    expect(pre.status).toBe(204);
    const other = await https("/healthz", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
