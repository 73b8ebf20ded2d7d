/** OpenAI's error envelope. */
import type { InferFluxError } from "../shared/errors";

export interface ErrorEnvelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorEnvelope(e: Pick<InferFluxError, "message" | "type" | "param" | "code">): ErrorEnvelope {
  return { error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code ?? null } };
}
