/**
 * The error vocabulary of InferFlux. Every failure that reaches a client is an
 * InferFluxError with a machine code, an HTTP status and an OpenAI error type;
 * only src/server/errors.ts turns it into a response body.
 */
export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error"
  | "service_unavailable";

export interface ErrorOptions {
  /** The request field at fault, as OpenAI's `param`. */
  param?: string | null;
  /** Extra HTTP headers to send with the error (e.g. Retry-After). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class InferFluxError extends Error {
  readonly param: string | null;
  readonly headers: Record<string, string>;
  constructor(
    readonly status: number,
    readonly type: OpenAIErrorType,
    readonly code: string,
    message: string,
    options: ErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "InferFluxError";
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }
}

/** 400: the request is malformed or asks for something impossible. */
export class InvalidRequestError extends InferFluxError {
  constructor(message: string, param: string | null = null, code = "invalid_request") {
    super(400, "invalid_request_error", code, message, { param });
  }
}

/** 401: no credentials, or credentials that do not verify. */
export class AuthenticationError extends InferFluxError {
  constructor(message: string, code = "invalid_api_key") {
    super(401, "authentication_error", code, message);
  }
}

/** 403: authenticated, but not allowed to do this. */
export class PermissionError extends InferFluxError {
  constructor(message: string, code = "insufficient_scope") {
    super(403, "permission_error", code, message);
  }
}

/** 404: unknown model, route or resource. */
export class NotFoundError extends InferFluxError {
  constructor(message: string, param: string | null = null, code = "not_found") {
    super(404, "not_found_error", code, message, { param });
  }
}

/** 429: a rate limit or a full queue; carries Retry-After in seconds. */
export class RateLimitError extends InferFluxError {
  constructor(message: string, retryAfterSeconds: number, code = "rate_limit_exceeded", headers: Record<string, string> = {}) {
    super(429, "rate_limit_error", code, message, {
      headers: { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))), ...headers },
    });
  }
}

/** 503: no model loaded, or the engine is down or restarting. */
export class ServiceUnavailableError extends InferFluxError {
  constructor(message: string, code = "service_unavailable") {
    super(503, "service_unavailable", code, message);
  }
}

/** Thrown at construction when configuration is wrong; names the key at fault. */
export class ConfigError extends Error {
  constructor(readonly key: string, message: string) {
    super(`config ${key}: ${message}`);
    this.name = "ConfigError";
  }
}

/** A broken internal invariant: a bug, never a user error. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
