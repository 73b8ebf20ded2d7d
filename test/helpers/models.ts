/** Paths of the shared test models; tests skip (saying why) when the folder is absent. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const MODELS_DIR = resolve(import.meta.dir, "../../../shared/models");
export const STORIES = resolve(MODELS_DIR, "stories260K.gguf");
export const STORIES_CHATML = resolve(MODELS_DIR, "stories260K-chatml.gguf");
export const SYNTHETIC = resolve(MODELS_DIR, "synthetic-llama2vocab-24M-random-q8_0.gguf");

export const haveModels = existsSync(STORIES) && existsSync(STORIES_CHATML);
if (!haveModels) console.warn(`[skip] model-backed tests skipped: ${MODELS_DIR} is absent`);
