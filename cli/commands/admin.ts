/**
 * inferflux admin: api-keys, guardrails, rate-limit (over the admin API with an
 * admin-scoped key) and audit verify (local: checks the audit log's hash chain).
 */
import { defineCommand } from "citty";
import { connectionArgs, connectionFrom } from "../lib/connection";
import { callJson } from "../lib/http";
import { verifyAuditChain } from "../../src/policy";

const fail = (what: string, e: unknown): never => {
  console.error(`inferflux admin ${what}: ${(e as Error).message}`);
  process.exit(1);
};
const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));
const list = (s: string | undefined) => (s ?? "").split(",").map((x) => x.trim()).filter(Boolean);

const apiKeys = defineCommand({
  meta: { name: "api-keys", description: "List, add, create, revoke or rotate API keys" },
  args: {
    ...connectionArgs,
    list: { type: "boolean", description: "List keys (never shows secrets)" },
    add: { type: "string", description: "Register a key of your choosing, e.g. --add new-key --scopes generate,read" },
    create: { type: "boolean", description: "Generate a new key (printed once)" },
    name: { type: "string", description: "Name for --add/--create" },
    scopes: { type: "string", description: "Comma-separated scopes: generate,read,admin" },
    models: { type: "string", description: "Comma-separated allowed models" },
    tenant: { type: "string", description: "Tenant of the key" },
    "expires-at": { type: "string", description: "ISO-8601 expiry" },
    "requests-per-minute": { type: "string", description: "Per-key request limit" },
    "tokens-per-minute": { type: "string", description: "Per-key token limit" },
    revoke: { type: "string", description: "Revoke the key with this id" },
    rotate: { type: "string", description: "Rotate the key with this id (prints the new key once)" },
  },
  async run({ args }) {
    const conn = connectionFrom(args);
    const body = () => ({
      ...(args.name ? { name: args.name } : {}),
      ...(args.scopes ? { scopes: list(args.scopes) } : {}),
      ...(args.models ? { models: list(args.models) } : {}),
      ...(args.tenant ? { tenant: args.tenant } : {}),
      ...(args["expires-at"] ? { expires_at: args["expires-at"] } : {}),
      ...(args["requests-per-minute"] ? { requests_per_minute: Number(args["requests-per-minute"]) } : {}),
      ...(args["tokens-per-minute"] ? { tokens_per_minute: Number(args["tokens-per-minute"]) } : {}),
    });
    try {
      if (args.add) return print(await callJson(conn, "POST", "/v1/admin/api_keys", { key: args.add, ...body() }));
      if (args.create) return print(await callJson(conn, "POST", "/v1/admin/api_keys", body()));
      if (args.revoke) return print(await callJson(conn, "POST", `/v1/admin/api_keys/${encodeURIComponent(args.revoke)}/revoke`));
      if (args.rotate) return print(await callJson(conn, "POST", `/v1/admin/api_keys/${encodeURIComponent(args.rotate)}/rotate`));
      const r = await callJson(conn, "GET", "/v1/admin/api_keys");
      for (const k of r.data) console.log(`${k.id}\t${k.name}\t${k.scopes.join(",")}\t${k.revoked ? "revoked" : "active"}${k.expiresAt ? `\texpires ${k.expiresAt}` : ""}`);
    } catch (e) {
      fail("api-keys", e);
    }
  },
});

const guardrails = defineCommand({
  meta: { name: "guardrails", description: "Show or replace the guardrail blocklist" },
  args: { ...connectionArgs, list: { type: "boolean", description: "Show guardrails" }, set: { type: "string", description: "Replace the blocklist: --set secret,pii" } },
  async run({ args }) {
    const conn = connectionFrom(args);
    try {
      if (args.set !== undefined) return print(await callJson(conn, "PUT", "/v1/admin/guardrails", { blocklist: list(args.set) }));
      print(await callJson(conn, "GET", "/v1/admin/guardrails"));
    } catch (e) {
      fail("guardrails", e);
    }
  },
});

const rateLimit = defineCommand({
  meta: { name: "rate-limit", description: "Show or set the global per-key rate limit" },
  args: {
    ...connectionArgs,
    set: { type: "string", description: "Requests per minute: --set 200" },
    tokens: { type: "string", description: "Tokens per minute" },
  },
  async run({ args }) {
    const conn = connectionFrom(args);
    try {
      if (args.set !== undefined || args.tokens !== undefined) {
        return print(await callJson(conn, "PUT", "/v1/admin/rate_limit", {
          ...(args.set !== undefined ? { requests_per_minute: Number(args.set) } : {}),
          ...(args.tokens !== undefined ? { tokens_per_minute: Number(args.tokens) } : {}),
        }));
      }
      print(await callJson(conn, "GET", "/v1/admin/rate_limit"));
    } catch (e) {
      fail("rate-limit", e);
    }
  },
});

const auditVerify = defineCommand({
  meta: { name: "verify", description: "Check the audit log's hash chain; names the first bad line" },
  args: { file: { type: "positional", required: false, description: "Audit log path (default $INFERFLUX_AUDIT_LOG)" } },
  async run({ args }) {
    const path = args.file || process.env.INFERFLUX_AUDIT_LOG;
    if (!path) fail("audit verify", new Error("give the audit log path or set INFERFLUX_AUDIT_LOG"));
    const r = await verifyAuditChain(path!);
    if (r.ok) {
      console.log(`ok: ${r.lines} lines verified`);
      return;
    }
    console.error(`TAMPERED: ${r.file} line ${r.line}: ${r.reason}`);
    process.exit(1);
  },
});

const audit = defineCommand({ meta: { name: "audit", description: "Audit log tools" }, subCommands: { verify: auditVerify } });

export default defineCommand({
  meta: { name: "admin", description: "Administer keys, guardrails, rate limits and the audit log" },
  subCommands: { "api-keys": apiKeys, guardrails, "rate-limit": rateLimit, audit },
});
