/**
 * Verify an audit log's hash chain, rotated files included (oldest first:
 * audit.log.<k> … audit.log.1, audit.log). The first bad line is named by
 * file and 1-based line number. When the oldest file present is a rotated one
 * its first line may chain from a file already deleted by rotation, so its
 * prevHash is taken as the anchor unless `requireGenesis` is set.
 */
import { existsSync, readFileSync } from "node:fs";
import { canonicalJson } from "../util.ts";
import { chainHash, GENESIS_HASH } from "./record.ts";

export type AuditVerifyResult =
  | { ok: true; lines: number; files: string[] }
  | { ok: false; file: string; line: number; reason: string };

export interface VerifyOptions {
  /** Require the very first line to chain from 64 zeros even if rotated files were dropped. */
  requireGenesis?: boolean;
}

/** The files of a log, oldest first. */
export function auditFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let n = 1; existsSync(`${path}.${n}`); n++) rotated.push(`${path}.${n}`);
  const files = rotated.reverse();
  if (existsSync(path)) files.push(path);
  return files;
}

const HEX64 = /^[0-9a-f]{64}$/;

function checkLine(text: string, expectedPrev: string | null): { reason: string } | { hash: string } {
  if (text === "") return { reason: "empty line" };
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { reason: "not valid JSON" };
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return { reason: "not a JSON object" };
  const { hash, ...rest } = parsed;
  if (typeof hash !== "string" || !HEX64.test(hash)) return { reason: "missing or malformed hash" };
  if (typeof rest.prevHash !== "string" || !HEX64.test(rest.prevHash)) return { reason: "missing or malformed prevHash" };
  if (canonicalJson(parsed) !== text) return { reason: "line is not in canonical form" };
  if (expectedPrev !== null && rest.prevHash !== expectedPrev) {
    return { reason: "prevHash does not match the previous line's hash (line removed, reordered or altered)" };
  }
  if (chainHash(rest.prevHash, rest) !== hash) return { reason: "hash mismatch (line content altered)" };
  return { hash };
}

/** Walk the chain; returns the number of lines or the first bad line. */
export function verifyAuditChain(path: string, options: VerifyOptions = {}): AuditVerifyResult {
  const files = auditFiles(path);
  let expected: string | null = options.requireGenesis || files[0] === path || files.length === 0 ? GENESIS_HASH : null;
  let total = 0;
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    if (text === "") continue;
    const lines = text.split("\n");
    const terminated = lines[lines.length - 1] === "";
    if (terminated) lines.pop();
    for (let i = 0; i < lines.length; i++) {
      if (!terminated && i === lines.length - 1) {
        return { ok: false, file, line: i + 1, reason: "unterminated (torn) last line" };
      }
      const r = checkLine(lines[i], expected);
      if ("reason" in r) return { ok: false, file, line: i + 1, reason: r.reason };
      expected = r.hash;
      total++;
    }
  }
  return { ok: true, lines: total, files };
}
