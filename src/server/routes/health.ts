/** Health probes: /livez (process up), /readyz (model loaded), /healthz (summary). */
import type { EngineClient } from "../../engine/client";

export function health(engine: EngineClient) {
  return { status: engine.state === "ready" ? "ok" : engine.state, model_loaded: engine.state === "ready", open_requests: engine.numOpen };
}

export function readiness(engine: EngineClient): Response {
  const ready = engine.state === "ready";
  return new Response(JSON.stringify({ ready, engine: engine.state }), {
    status: ready ? 200 : 503,
    headers: { "content-type": "application/json" },
  });
}
