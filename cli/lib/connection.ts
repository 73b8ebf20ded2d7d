/** Where a client command talks to: --url, or --host/--port, and the API key (INFERCTL_API_KEY). */
export const connectionArgs = {
  url: { type: "string", description: "Server URL (default http://127.0.0.1:8080)" },
  host: { type: "string", description: "Server host (with --port)" },
  port: { type: "string", description: "Server port" },
  "api-key": { type: "string", description: "API key (default: $INFERCTL_API_KEY or $INFERFLUX_API_KEY)" },
} as const;

export interface Connection {
  baseUrl: string;
  apiKey?: string;
}

export function connectionFrom(args: Record<string, unknown>): Connection {
  const url = (args.url as string | undefined) ?? process.env.INFERFLUX_URL;
  const host = (args.host as string | undefined) ?? "127.0.0.1";
  const port = (args.port as string | undefined) ?? "8080";
  const baseUrl = (url ?? `http://${host.includes(":") ? `[${host}]` : host}:${port}`).replace(/\/+$/, "");
  const apiKey = (args["api-key"] as string | undefined) ?? process.env.INFERCTL_API_KEY ?? process.env.INFERFLUX_API_KEY;
  return { baseUrl, apiKey: apiKey || undefined };
}
