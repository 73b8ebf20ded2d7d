/** inferflux complete (alias: completion): a text completion, streamed or not. */
import { defineCommand } from "citty";
import { connectionArgs, connectionFrom } from "../lib/connection";
import { callJson, streamSse } from "../lib/http";

export default defineCommand({
  meta: { name: "complete", description: "Complete a prompt (POST /v1/completions)" },
  args: {
    ...connectionArgs,
    prompt: { type: "string", required: true, description: "The prompt" },
    model: { type: "string", description: "Model id (default: the server's model)" },
    stream: { type: "boolean", default: false, description: "Stream tokens" },
    "max-tokens": { type: "string", description: "Token limit (default 64)" },
    temperature: { type: "string", description: "Sampling temperature" },
  },
  async run({ args }) {
    const conn = connectionFrom(args);
    try {
      const model = args.model ?? (await callJson(conn, "GET", "/v1/models")).data?.[0]?.id;
      if (!model) throw new Error("the server has no model loaded");
      const body = {
        model,
        prompt: args.prompt,
        max_tokens: Number(args["max-tokens"] ?? 64),
        ...(args.temperature ? { temperature: Number(args.temperature) } : {}),
      };
      if (args.stream) {
        for await (const c of streamSse(conn, "/v1/completions", body)) process.stdout.write(c.choices?.[0]?.text ?? "");
      } else {
        const r = await callJson(conn, "POST", "/v1/completions", body);
        process.stdout.write(r.choices[0].text);
      }
      process.stdout.write("\n");
    } catch (e) {
      console.error(`inferflux complete: ${(e as Error).message}`);
      process.exit(1);
    }
  },
});
