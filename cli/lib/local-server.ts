/** Runs a command against a server started in this process on a free loopback port (chat --model file.gguf). */
import { loadConfig } from "../../src/config";
import { startServer } from "../../src/main";
import type { Connection } from "./connection";

// Errors only, unless INFERFLUX_LOG_LEVEL says otherwise: llama.cpp's load-time warnings (JSON log
// lines on stderr) would land in the middle of the conversation.
export async function withLocalServer<T>(modelPath: string, fn: (conn: Connection) => Promise<T>): Promise<T> {
  const config = loadConfig({ overrides: { "model.path": modelPath, "server.host": "127.0.0.1", "server.port": 0, "logging.level": process.env.INFERFLUX_LOG_LEVEL ?? "error" } });
  const server = await startServer(config);
  try {
    await server.engine.start();
    return await fn({ baseUrl: server.url });
  } finally {
    await server.stop();
  }
}
