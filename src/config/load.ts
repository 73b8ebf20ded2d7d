/**
 * Loads one frozen Config: defaults <- YAML file <- INFERFLUX_* env vars <-
 * CLI overrides. A bad value stops start-up with a ConfigError naming the key.
 */
import { readFileSync, existsSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import { ConfigError } from "../shared/errors";
import { ConfigSchema, ENV_ALIASES, type Config } from "./schema";

export interface LoadOptions {
  /** YAML file; missing file is an error only when given explicitly. */
  file?: string;
  env?: Record<string, string | undefined>;
  /** Dotted key -> raw string value (from CLI flags). */
  overrides?: Record<string, string | number | boolean | undefined>;
}

/** Every leaf key of the schema with its sub-schema, e.g. "runtime.threads". */
export function leafKeys(schema: TSchema = ConfigSchema, prefix = ""): Map<string, TSchema> {
  const out = new Map<string, TSchema>();
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (schema.type === "object" && props) {
    for (const [k, sub] of Object.entries(props)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (sub.type === "object" && (sub as { properties?: unknown }).properties) for (const [p, s] of leafKeys(sub, path)) out.set(p, s);
      else out.set(path, sub);
    }
  }
  return out;
}

/** The env var that overrides a key: runtime.threads -> INFERFLUX_RUNTIME_THREADS. */
export function envNameOf(key: string): string {
  return "INFERFLUX_" + key.replace(/\./g, "_").toUpperCase();
}

/** Parses a string from env/flags by the key's schema type. */
export function parseScalar(key: string, schema: TSchema, raw: string | number | boolean): unknown {
  if (typeof raw !== "string") return raw;
  const type = schema.type;
  if (type === "integer" || type === "number") {
    const n = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(n)) throw new ConfigError(key, `expected a number, got "${raw}"`);
    return n;
  }
  if (type === "boolean") {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(key, `expected true or false, got "${raw}"`);
  }
  if (type === "object") {
    try {
      return JSON.parse(raw);
    } catch {
      throw new ConfigError(key, "expected a JSON object");
    }
  }
  if (type === "array") {
    const t = raw.trim();
    if (t.startsWith("[")) {
      try {
        return JSON.parse(t);
      } catch {
        throw new ConfigError(key, "expected a JSON array or a comma-separated list");
      }
    }
    return t === "" ? [] : t.split(",").map((s) => s.trim()).filter(Boolean);
  }
  return raw;
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== "object" || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError("--config", `cannot read ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError("--config", `${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError("--config", `${file} must hold a mapping at the top level`);
  return doc as Record<string, unknown>;
}

export function loadConfig(options: LoadOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = options.file ? readYaml(options.file) : {};
  const leaves = leafKeys();
  const apply = (key: string, value: string | number | boolean) => {
    const schema = leaves.get(key);
    if (!schema) throw new ConfigError(key, "unknown configuration key");
    setPath(raw, key, parseScalar(key, schema, value));
  };
  for (const [name, key] of Object.entries(ENV_ALIASES)) {
    const v = env[name];
    if (v !== undefined && v !== "") apply(key, v);
  }
  for (const key of leaves.keys()) {
    const v = env[envNameOf(key)];
    if (v !== undefined && v !== "") apply(key, v);
  }
  for (const [key, v] of Object.entries(options.overrides ?? {})) if (v !== undefined) apply(key, v);
  const withDefaults = Value.Default(ConfigSchema, Value.Clone(raw));
  const first = Value.Errors(ConfigSchema, withDefaults).First();
  if (first) {
    const key = first.path.replace(/^\//, "").replace(/\//g, ".") || "(root)";
    const extra = first.schema && (first.schema as { description?: string }).description;
    throw new ConfigError(key, `${first.message}${extra ? ` (${extra})` : ""}`);
  }
  return deepFreeze(withDefaults as Config);
}

/** The default config file when none is named: ./config/server.yaml if it exists. */
export function defaultConfigFile(cwd = process.cwd()): string | undefined {
  const p = `${cwd}/config/server.yaml`;
  return existsSync(p) ? p : undefined;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
