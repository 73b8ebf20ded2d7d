/**
 * The single place that turns errors into HTTP responses in OpenAI's shape.
 * Anything that is not an InferFluxError is a logged 500.
 */
import { InferFluxError, InvalidRequestError, NotFoundError } from "../shared/errors";
import { errorEnvelope } from "../protocol/errors";
import type { Logger } from "../shared/logger";

export function toInferFluxError(error: unknown, code: string | number | undefined, log: Logger): InferFluxError {
  if (error instanceof InferFluxError) return error;
  switch (code) {
    case "PARSE":
      return new InvalidRequestError("the request body is not valid JSON", null, "invalid_json");
    case "NOT_FOUND":
      return new NotFoundError("no such route", null, "unknown_route");
    case "VALIDATION":
      return new InvalidRequestError(`invalid request: ${(error as Error).message}`, null, "invalid_value");
  }
  const status = (error as { status?: number })?.status;
  if (status === 413) return new InferFluxError(413, "invalid_request_error", "body_too_large", "the request body is too large");
  log.error("unhandled error", { error: String(error), stack: (error as Error)?.stack });
  return new InferFluxError(500, "server_error", "internal_error", "internal server error");
}

export function errorResponse(e: InferFluxError): Response {
  return new Response(JSON.stringify(errorEnvelope(e)), {
    status: e.status,
    headers: { "content-type": "application/json", ...e.headers },
  });
}
