/**
 * Sequential GET latencies of one URL, measured from a process of its own so
 * that the clients driving the load do not delay the measurement. Prints one
 * JSON line: { samples, p50, p90, p99, max } in milliseconds.
 *
 *   bun bench/lib/health-probe.ts URL [N]
 */
import { percentile } from "./stats.ts";

const [url, n = "1000"] = process.argv.slice(2);
if (!url) {
  console.error("usage: bun bench/lib/health-probe.ts URL [N]");
  process.exit(2);
}
const get = async () => {
  const r = await fetch(url);
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
};
for (let i = 0; i < 50; i++) await get(); // warm-up: JIT and the keep-alive connection
const lat: number[] = [];
for (let i = 0; i < Number(n); i++) {
  const t = performance.now();
  await get();
  lat.push(performance.now() - t);
}
console.log(JSON.stringify({ samples: lat.length, p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), max: Math.max(...lat) }));
