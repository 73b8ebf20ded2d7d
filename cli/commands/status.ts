/** inferflux status: health and readiness of a server. Exit code 0 when ready. */
import { defineCommand } from "citty";
import { connectionArgs, connectionFrom } from "../lib/connection";
import { callJson } from "../lib/http";

export default defineCommand({
  meta: { name: "status", description: "Show server health and readiness" },
  args: { ...connectionArgs },
  async run({ args }) {
    const conn = connectionFrom(args);
    try {
      const h = await callJson(conn, "GET", "/healthz");
      const models = h.model_loaded ? (await callJson(conn, "GET", "/v1/models")).data.map((m: { id: string }) => m.id) : [];
      console.log(`${conn.baseUrl}: ${h.status}; model ${models.join(", ") || "none"}; open requests ${h.open_requests}`);
      process.exit(h.model_loaded ? 0 : 3);
    } catch (e) {
      console.error(`inferflux status: ${(e as Error).message}`);
      process.exit(1);
    }
  },
});
