/**
 * Resolves the `model` field of a request against the loaded model and
 * refuses inference when no model is ready.
 */
import { NotFoundError, ServiceUnavailableError } from "../../shared/errors";
import type { EngineClient } from "../../engine/client";
import type { ModelInfo } from "../../engine/messages";

export interface ModelNaming {
  /** The id the API serves the model under. */
  id: string;
  aliases: readonly string[];
}

export function servedModelId(info: ModelInfo, configured: string): string {
  return configured || info.path.split("/").pop()!.replace(/\.gguf$/i, "");
}

export function requireModel(engine: EngineClient, naming: () => ModelNaming | undefined, requested: string): ModelInfo {
  const info = engine.model;
  const n = naming();
  if (!info || !n || engine.state !== "ready") {
    if (engine.state === "starting" || engine.state === "restarting") throw new ServiceUnavailableError("the model is loading; retry shortly", "model_loading");
    throw new ServiceUnavailableError("no model is loaded: start the server with --model PATH (or INFERFLUX_MODEL_PATH)", "model_not_loaded");
  }
  if (requested !== n.id && !n.aliases.includes(requested)) {
    throw new NotFoundError(`The model '${requested}' does not exist; this server serves '${n.id}'`, "model", "model_not_found");
  }
  return info;
}
