/**
 * Small text helpers of the tool-call engine: key sets, Mistral v11 tags,
 * whitespace and name-character tests, and argument extraction.
 */
import { JsonScanner, isWs, minifyJson } from "./json-scanner.ts";

export const ARG_KEYS = new Set(["arguments", "parameters"]);
export const KNOWN_KEYS = new Set(["name", "arguments", "parameters", "type", "id"]);
export const V11_ARGS = "[ARGS]";
export const V11_CALL_ID = "[CALL_ID]";

export function allWs(s: string, allowSemicolon: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!isWs(c) && !(allowSemicolon && c === ";")) return false;
  }
  return true;
}

export function isNameChar(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c === "_" || c === "-" || c === "." || c === ":";
}

export function argumentsText(sc: JsonScanner): string {
  const out = sc.out;
  if (sc.first === '"') {
    const s = JSON.parse(out) as string;
    return minifyJson(s) ?? s;
  }
  if (out === "null") return "{}";
  return out;
}

// -------------------------------------------------------------------- wrappers
