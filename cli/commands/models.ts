/** inferflux models: list the server's models. */
import { defineCommand } from "citty";
import { connectionArgs, connectionFrom } from "../lib/connection";
import { callJson } from "../lib/http";

export default defineCommand({
  meta: { name: "models", description: "List models served (GET /v1/models)" },
  args: { ...connectionArgs, json: { type: "boolean", description: "Print raw JSON" } },
  async run({ args }) {
    try {
      const r = await callJson(connectionFrom(args), "GET", "/v1/models");
      if (args.json) return console.log(JSON.stringify(r, null, 2));
      if (!r.data.length) return console.log("(no model loaded)");
      for (const m of r.data) console.log(`${m.id}\tctx ${m.meta?.n_ctx ?? "?"}\t${m.meta?.description ?? ""}`);
    } catch (e) {
      console.error(`inferflux models: ${(e as Error).message}`);
      process.exit(1);
    }
  },
});
