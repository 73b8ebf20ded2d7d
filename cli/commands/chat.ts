/**
 * inferflux chat: one-shot (--message) or an interactive REPL with streaming
 * and history, against a server URL or in-process with --model file.gguf.
 */
import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { connectionArgs, connectionFrom, type Connection } from "../lib/connection";
import { callJson, streamSse } from "../lib/http";
import { withLocalServer } from "../lib/local-server";

interface Msg {
  role: string;
  content: string;
}

/** "user:Hello" -> {role: user, content: Hello}; plain text is a user message. */
export function parseMessage(text: string): Msg {
  const m = /^(system|user|assistant|developer):(.*)$/s.exec(text);
  return m ? { role: m[1], content: m[2] } : { role: "user", content: text };
}

async function resolveModel(conn: Connection, model: string | undefined): Promise<string> {
  if (model) return model;
  const list = await callJson(conn, "GET", "/v1/models");
  if (!list.data?.length) throw new Error("the server has no model loaded");
  return list.data[0].id;
}

async function reply(conn: Connection, body: object, stream: boolean, out: (s: string) => void): Promise<string> {
  if (!stream) {
    const r = await callJson(conn, "POST", "/v1/chat/completions", body);
    const text = r.choices[0].message.content ?? "";
    out(text);
    return text;
  }
  let text = "";
  for await (const chunk of streamSse(conn, "/v1/chat/completions", body)) {
    const delta = chunk.choices?.[0]?.delta?.content ?? "";
    text += delta;
    out(delta);
  }
  return text;
}

export default defineCommand({
  meta: { name: "chat", description: "Chat with a model (interactive, or one-shot with --message)" },
  args: {
    ...connectionArgs,
    model: { type: "string", description: "Model id on the server, or a .gguf file to run in-process" },
    message: { type: "string", alias: "m", description: 'One message, e.g. "user:Hello"; repeat the command for more' },
    system: { type: "string", description: "System prompt" },
    stream: { type: "boolean", default: true, description: "Stream tokens as they arrive (--no-stream to wait)" },
    interactive: { type: "boolean", description: "Interactive session (the default without --message)" },
    "max-tokens": { type: "string", description: "Token limit per answer" },
    temperature: { type: "string", description: "Sampling temperature" },
  },
  async run({ args }) {
    const ggufPath = args.model && /\.gguf$/i.test(args.model) ? args.model : undefined;
    const local = ggufPath && existsSync(ggufPath) ? ggufPath : undefined;
    // A path to a .gguf file that is not there: say so, rather than ask a server for a model of that name.
    if (ggufPath && !local && /[\\/]/.test(ggufPath)) {
      console.error(`inferflux chat: model file ${args.model} does not exist`);
      process.exit(1);
    }
    const run = async (conn: Connection) => {
      const model = await resolveModel(conn, local ? undefined : args.model);
      const history: Msg[] = args.system ? [{ role: "system", content: args.system }] : [];
      const params = {
        model,
        ...(args["max-tokens"] ? { max_tokens: Number(args["max-tokens"]) } : {}),
        ...(args.temperature ? { temperature: Number(args.temperature) } : {}),
      };
      const write = (s: string) => process.stdout.write(s);
      if (args.message && !args.interactive) {
        history.push(parseMessage(args.message));
        await reply(conn, { ...params, messages: history }, args.stream, write);
        write("\n");
        return;
      }
      const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "> " });
      console.log(`chatting with ${model} at ${conn.baseUrl} (/exit to quit, /reset to clear history)`);
      // Piped input (`printf 'Hi\n/exit\n' | inferflux chat`) closes readline at its end while an
      // answer may still stream; the lines read before go on, but prompting a closed interface throws.
      let closed = false;
      rl.on("close", () => (closed = true));
      const prompt = () => closed || rl.prompt();
      prompt();
      for await (const line of rl) {
        const text = line.trim();
        if (text === "/exit" || text === "/quit") break;
        if (text === "/reset") {
          history.splice(args.system ? 1 : 0);
          prompt();
          continue;
        }
        if (text) {
          history.push(parseMessage(text));
          try {
            const answer = await reply(conn, { ...params, messages: history }, args.stream, write);
            history.push({ role: "assistant", content: answer });
            write("\n");
          } catch (e) {
            history.pop();
            console.error(`error: ${(e as Error).message}`);
          }
        }
        prompt();
      }
      rl.close();
    };
    try {
      if (local) await withLocalServer(local, run);
      else await run(connectionFrom(args));
    } catch (e) {
      console.error(`inferflux chat: ${(e as Error).message}`);
      process.exit(1);
    }
  },
});
