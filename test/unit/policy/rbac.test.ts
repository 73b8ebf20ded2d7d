import { describe, expect, test } from "bun:test";
import { checkModelAllowed, hasScope, modelMatches, parseScopes, requireScope, scopesFromStrings } from "../../../src/policy/rbac/index.ts";
import type { Principal, Scope } from "../../../src/policy/types.ts";
import { ConfigError, InvalidRequestError, PermissionError } from "../../../src/shared/errors.ts";

const p = (scopes: Scope[], models: string[] | null = null): Principal => ({
  kind: "api_key",
  id: "k1",
  tenant: null,
  scopes: new Set(scopes),
  models,
  limits: {},
});

describe("rbac", () => {
  test("admin implies every scope", () => {
    expect(hasScope(p(["admin"]), "generate")).toBe(true);
    expect(hasScope(p(["admin"]), "read")).toBe(true);
    expect(hasScope(p(["read"]), "generate")).toBe(false);
  });

  test("requireScope throws PermissionError 403", () => {
    expect(() => requireScope(p(["generate"]), "generate")).not.toThrow();
    try {
      requireScope(p(["read"]), "admin");
      throw new Error("no throw");
    } catch (err) {
      expect(err).toBeInstanceOf(PermissionError);
      expect((err as PermissionError).status).toBe(403);
    }
  });

  test("model allow-list with globs", () => {
    expect(() => checkModelAllowed(p(["generate"]), "anything")).not.toThrow();
    const q = p(["generate"], ["llama-3-8b", "qwen-*"]);
    expect(() => checkModelAllowed(q, "llama-3-8b")).not.toThrow();
    expect(() => checkModelAllowed(q, "qwen-2.5-7b")).not.toThrow();
    expect(() => checkModelAllowed(q, "mistral")).toThrow(PermissionError);
    expect(modelMatches(["a.b"], "axb")).toBe(false);
  });

  test("parseScopes", () => {
    expect(parseScopes("k", "generate, read")).toEqual(["generate", "read"]);
    expect(() => parseScopes("apiKeys[0].scopes", ["root"])).toThrow(ConfigError);
    expect(() => parseScopes("scopes", ["root"], true)).toThrow(InvalidRequestError);
    expect(() => parseScopes("k", [])).toThrow(/at least one/);
    try {
      parseScopes("apiKeys[3].scopes", ["nope"]);
    } catch (err) {
      expect((err as ConfigError).key).toBe("apiKeys[3].scopes");
    }
  });

  test("scopesFromStrings maps roles only through the map", () => {
    const map = { "ifx-admins": ["admin"] as Scope[] };
    expect([...scopesFromStrings(["openid", "generate"], map, true)]).toEqual(["generate"]);
    expect([...scopesFromStrings(["admin"], map, false)]).toEqual([]);
    expect([...scopesFromStrings(["ifx-admins"], map, false)]).toEqual(["admin"]);
  });
});
