import { describe, expect, test } from "bun:test";
import { Counter, Gauge, Histogram, Registry } from "../../../src/metrics/registry";

describe("metrics registry", () => {
  test("renders Prometheus text with labels, escaping and histogram buckets", () => {
    const r = new Registry();
    const c = r.register(new Counter("x_total", "X"));
    c.inc({ route: '/a"b' });
    c.inc({ route: '/a"b' }, 2);
    r.register(new Gauge("g", "G")).set(0.5);
    const h = r.register(new Histogram("h_seconds", "H", [0.1, 1]));
    h.observe(0.05);
    h.observe(5);
    const text = r.render();
    expect(text).toContain('x_total{route="/a\\"b"} 3');
    expect(text).toContain("g 0.5");
    expect(text).toContain('h_seconds_bucket{le="0.1"} 1');
    expect(text).toContain('h_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain("h_seconds_count 2");
    expect(text).toContain("# TYPE h_seconds histogram");
  });
});
