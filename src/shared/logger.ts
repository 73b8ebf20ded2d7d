/**
 * A tiny structured logger: one JSON object per line on stderr, filtered by
 * level. Every part of InferFlux (llama.cpp's log included) goes through it.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
  enabled(level: LogLevel): boolean;
}

let globalLevel: LogLevel = parseLevel(process.env.INFERFLUX_LOG_LEVEL) ?? "info";
let sink: (line: string) => void = (line) => process.stderr.write(line + "\n");

export function parseLevel(value: string | undefined): LogLevel | undefined {
  if (!value) return undefined;
  const v = value.toLowerCase();
  return v in LEVEL_RANK ? (v as LogLevel) : undefined;
}

export function setLogLevel(level: LogLevel): void {
  globalLevel = level;
}

export function getLogLevel(): LogLevel {
  return globalLevel;
}

/** Redirect log lines (tests capture them). */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

export function createLogger(component: string): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVEL_RANK[level] < LEVEL_RANK[globalLevel]) return;
    sink(JSON.stringify({ t: new Date().toISOString(), level, component, msg, ...fields }));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (c) => createLogger(`${component}.${c}`),
    enabled: (level) => LEVEL_RANK[level] >= LEVEL_RANK[globalLevel],
  };
}
