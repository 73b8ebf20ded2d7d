/** GET /v1/models and /v1/models/:id */
import { NotFoundError } from "../../shared/errors";
import type { EngineClient } from "../../engine/client";
import type { ModelNaming } from "./served-model";

export function modelObject(id: string, engine: EngineClient) {
  const info = engine.model!;
  return {
    id,
    object: "model",
    created: 0,
    owned_by: "inferflux",
    meta: { n_ctx: info.nCtx, n_ctx_train: info.nCtxTrain, n_vocab: info.nVocab, n_params: info.nParams, size: info.sizeBytes, description: info.description },
  };
}

export function listModels(engine: EngineClient, naming: ModelNaming | undefined) {
  const data = engine.model && naming ? [modelObject(naming.id, engine)] : [];
  return { object: "list", data };
}

export function getModel(engine: EngineClient, naming: ModelNaming | undefined, id: string) {
  if (!engine.model || !naming || (id !== naming.id && !naming.aliases.includes(id))) {
    throw new NotFoundError(`The model '${id}' does not exist`, "model", "model_not_found");
  }
  return modelObject(id, engine);
}
