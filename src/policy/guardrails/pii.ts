/**
 * PII detectors: a candidate regex per kind plus a validator that removes
 * look-alikes (Luhn for cards, mod-97 for IBANs, structure checks for phones
 * and IPv6). Detectors are listed in priority order: when matches overlap,
 * the earlier kind wins (a card number is not also reported as a phone).
 */
import type { PiiKind } from "../types.ts";

export interface PiiDetector {
  readonly kind: PiiKind;
  readonly source: string;
  readonly flags: string;
  readonly validate?: (match: string) => boolean;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

export function ibanValid(raw: string): boolean {
  const iban = raw.replace(/ /g, "").toUpperCase();
  if (iban.length < 15 || iban.length > 34 || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? code - 55 : code - 48;
    rem = value >= 10 ? (rem * 100 + value) % 97 : (rem * 10 + value) % 97;
  }
  return rem === 1;
}

function cardValid(match: string): boolean {
  const seps = match.replace(/\d/g, "");
  if (seps.length > 0 && !/^( +|-+)$/.test(seps)) return false;
  const digits = match.replace(/\D/g, "");
  return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
}

function phoneValid(match: string): boolean {
  const digits = match.replace(/\D/g, "");
  const plus = match.startsWith("+");
  if (digits.length < (plus ? 9 : 10) || digits.length > 15) return false;
  if (/^(\d)\1+$/.test(digits)) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(match)) return false; // an IPv4 address
  if (/^\d{4}[-./]\d{1,2}[-./]\d{1,2}/.test(match)) return false; // a date, maybe with a time
  const open = match.indexOf("(");
  if (open !== match.lastIndexOf("(") || (open >= 0) !== match.includes(")")) return false;
  const groups = match.split(/[ ().+-]+/).filter(Boolean);
  if (groups.length === 1) return plus || digits.length <= 11;
  return groups.every((g, i) => g.length <= 4 && (g.length >= 2 || i === 0));
}

export function ipv6Valid(match: string): boolean {
  const halves = match.split("::");
  if (halves.length > 2) return false;
  const parts = (s: string) => (s === "" ? [] : s.split(":"));
  const head = parts(halves[0]);
  const tail = halves.length === 2 ? parts(halves[1]) : [];
  const groups = [...head, ...tail];
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  if (halves.length === 1 ? groups.length !== 8 : groups.length > 7) return false;
  return groups.length >= 2; // "::" and "::1" are not personal data
}

/** Four decimal octets 0-255 without leading zeros (the candidate regex checks the shape). */
export function ipv4Valid(match: string): boolean {
  return match.split(".").every((o) => Number(o) <= 255 && (o.length === 1 || o[0] !== "0"));
}

export const PII_DETECTORS: readonly PiiDetector[] = Object.freeze([
  { kind: "credit_card", source: "(?<![\\d-])(?<!\\d[ -])\\d(?:[ -]?\\d){12,18}(?![ -]?\\d)", flags: "g", validate: cardValid },
  { kind: "iban", source: "\\b[A-Z]{2}\\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\\b", flags: "gi", validate: ibanValid },
  { kind: "ssn", source: "(?<![\\d-])(?!000|666|9\\d\\d)\\d{3}([- ])(?!00)\\d{2}\\1(?!0000)\\d{4}(?![\\d-])", flags: "g" },
  {
    kind: "email",
    source: "(?<![\\w.%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.[A-Za-z]{2,24}(?![\\w-])",
    flags: "g",
  },
  { kind: "ipv6", source: "(?<![\\w:])(?=[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}(?![\\w:.])", flags: "g", validate: ipv6Valid },
  { kind: "ipv4", source: "(?<![\\d.])\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}(?!\\d|\\.\\d)", flags: "g", validate: ipv4Valid },
  { kind: "phone", source: "(?<![\\w+])(?<!\\d[ .-])(?:\\+|\\()?\\d[\\d ().-]{6,20}\\d(?!\\w|[ .-]\\d)", flags: "g", validate: phoneValid },
] satisfies PiiDetector[]);
