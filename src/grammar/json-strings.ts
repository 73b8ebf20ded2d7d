/**
 * String grammars: length bounds, `pattern` and `format`. Formats are
 * written as anchored regexes that accept a subset of what ajv-formats (full
 * mode) accepts, so everything generated validates.
 */
import { GrammarBuilder } from "./gbnf-builder";
import { jsonCharExpr, seqExpr } from "./gbnf-text";
import { ANY, RegexError } from "./regex-parse";
import { applyLength, emitRegex, patternLanguage } from "./regex-to-gbnf";
import { NUMBER_FORMATS, type Schema, nonNegInt, unsat, unsupported } from "./schema-keywords";

const DATE =
  "[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))" +
  "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29";
const TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
const HEX = "[0-9a-fA-F]";
const IPV4_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4 = `(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET}`;
const H16 = `${HEX}{1,4}`;
const LS32 = `(?:${H16}:${H16}|${IPV4})`;
// RFC 3986 IPv6address, one alternative per position of "::".
const IPV6 = [
  `(?:${H16}:){6}${LS32}`,
  `::(?:${H16}:){5}${LS32}`,
  `(?:${H16})?::(?:${H16}:){4}${LS32}`,
  `(?:(?:${H16}:){0,1}${H16})?::(?:${H16}:){3}${LS32}`,
  `(?:(?:${H16}:){0,2}${H16})?::(?:${H16}:){2}${LS32}`,
  `(?:(?:${H16}:){0,3}${H16})?::${H16}:${LS32}`,
  `(?:(?:${H16}:){0,4}${H16})?::${LS32}`,
  `(?:(?:${H16}:){0,5}${H16})?::${H16}`,
  `(?:(?:${H16}:){0,6}${H16})?::`,
].join("|");
const ATEXT = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]";
const LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?";
// Host names: at most 6 labels of at most 40 characters keeps the total under 253.
const HOST_LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,38}[a-zA-Z0-9])?";
const PCHAR = "(?:[a-zA-Z0-9._~!$&'()*+,;=:@-]|%[0-9a-fA-F]{2})";

/** Supported string formats → anchored ECMAScript patterns (null: no constraint). */
export const FORMAT_PATTERNS: Record<string, string | null> = {
  date: `^(?:${DATE})$`,
  time: `^${TIME}$`,
  "date-time": `^(?:${DATE})T${TIME}$`,
  uuid: `^${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}$`,
  email: `^${ATEXT}+(?:\\.${ATEXT}+)*@(?:${LABEL}\\.)+${LABEL}$`,
  hostname: `^${HOST_LABEL}(?:\\.${HOST_LABEL}){0,5}$`,
  ipv4: `^${IPV4}$`,
  ipv6: `^(?:${IPV6})$`,
  uri:
    `^[a-zA-Z][a-zA-Z0-9+.-]*:(?://(?:[a-zA-Z0-9._~!$&'()*+,;=-]|%[0-9a-fA-F]{2})+(?::[0-9]{1,5})?(?:/${PCHAR}*)*` +
    `|${PCHAR}+(?:/${PCHAR}*)*)(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?$`,
  password: null,
  binary: null,
};

export const QUOTE = "\"\\\"\"";

/** The shared rule for one canonical JSON string character. */
export function charRule(b: GrammarBuilder): string {
  return b.add("char", jsonCharExpr(ANY));
}

/** GBNF for a string schema (with quotes). */
export function stringExpr(s: Schema, b: GrammarBuilder, ptr: string, hint: string): string {
  const param = b.param;
  const min = nonNegInt(s, "minLength", ptr, param) ?? 0;
  const max = nonNegInt(s, "maxLength", ptr, param) ?? Infinity;
  if (min > max) unsat(ptr, param, "minLength is greater than maxLength");
  let format = typeof s.format === "string" ? s.format : undefined;
  if (format !== undefined && NUMBER_FORMATS.has(format)) format = undefined;
  if (format !== undefined && !(format in FORMAT_PATTERNS)) unsupported("format", ptr, param, `format "${format}" is not supported`);
  const formatPattern = format === undefined ? null : FORMAT_PATTERNS[format];
  if (s.pattern !== undefined && typeof s.pattern !== "string") unsupported("pattern", ptr, param, "pattern must be a string");
  const pattern = s.pattern as string | undefined;
  if (pattern !== undefined && formatPattern) unsupported("pattern", ptr, param, `pattern combined with format "${format}"`);
  const regex = pattern ?? formatPattern;
  let content: string;
  if (regex) {
    const what = pattern !== undefined ? `"pattern"` : `format "${format}"`;
    let ast;
    try {
      ast = patternLanguage(regex, param);
    } catch (e) {
      if (e instanceof RegexError) unsupported("pattern", ptr, param, `${JSON.stringify(e.pattern)}: ${e.detail}`);
      throw e;
    }
    if (min > 0 || max < Infinity) ast = applyLength(ast, min, max, what, ptr || "/", param);
    content = emitRegex(ast, b, `${hint}-${pattern !== undefined ? "pattern" : format}`);
  } else {
    content = b.repeat(`${hint}-chars`, charRule(b), min, max);
  }
  return seqExpr([QUOTE, content, QUOTE]);
}
