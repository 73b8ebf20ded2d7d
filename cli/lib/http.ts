/** A small HTTP client for the InferFlux API: JSON calls and SSE streams, with readable errors. */
import type { Connection } from "./connection";

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function headers(conn: Connection): Record<string, string> {
  return { "content-type": "application/json", ...(conn.apiKey ? { authorization: `Bearer ${conn.apiKey}` } : {}) };
}

async function fail(res: Response): Promise<never> {
  const text = await res.text();
  let msg = text;
  try {
    msg = JSON.parse(text).error?.message ?? text;
  } catch {}
  throw new ApiError(res.status, `HTTP ${res.status}: ${msg}`);
}

export async function callJson<T = any>(conn: Connection, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(conn.baseUrl + path, { method, headers: headers(conn), body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, `cannot reach ${conn.baseUrl}: ${(e as Error).message}`);
  }
  if (!res.ok) await fail(res);
  return (await res.json()) as T;
}

/** POSTs with stream: true and yields each `data:` JSON payload until [DONE]. */
export async function* streamSse(conn: Connection, path: string, body: object, signal?: AbortSignal): AsyncGenerator<any> {
  let res: Response;
  try {
    res = await fetch(conn.baseUrl + path, { method: "POST", headers: headers(conn), body: JSON.stringify({ ...body, stream: true }), signal });
  } catch (e) {
    throw new ApiError(0, `cannot reach ${conn.baseUrl}: ${(e as Error).message}`);
  }
  if (!res.ok || !res.body) await fail(res);
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const obj = JSON.parse(data);
        if (obj.error) throw new ApiError(500, obj.error.message);
        yield obj;
      }
    }
  }
}
