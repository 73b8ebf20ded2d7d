import { describe, expect, test } from "bun:test";
import { AMX_PATCH, cpuVariants, hostHasAmx, planExclusions, type BackendFacts } from "../../../ffi/backends";

const PORTABLE = ["libllama.so", "libggml.so", "libggml-base.so", "libggml-cpu-haswell.so", "libggml-cpu-icelake.so", "libggml-cpu-sapphirerapids.so", "libggml-cpu-x64.so"];
const SINGLE = ["libllama.so", "libggml.so", "libggml-base.so", "libggml-cpu.so"];
const AMX = new Set(["avx2", "avx512f", "amx_tile", "amx_int8", "amx_bf16"]);
const NO_AMX = new Set(["avx2", "avx512f"]);
const unpatched = (mode: string) => `backend=cpu\nsource_patches=PR-22566.diff\ncpu_mode=${mode}\n`;
const patched = (mode: string) => `backend=cpu\nsource_patches=PR-22566.diff inferflux/${AMX_PATCH}\ncpu_mode=${mode}\n`;
const facts = (f: Partial<BackendFacts>): BackendFacts => ({ files: PORTABLE, cpuFlags: AMX, env: {}, ...f });

describe("cpuVariants", () => {
  test("names the libggml-cpu-<variant> modules, not the single-module build", () => {
    expect(cpuVariants(PORTABLE)).toEqual(["haswell", "icelake", "sapphirerapids", "x64"]);
    expect(cpuVariants(SINGLE)).toEqual([]);
    expect(cpuVariants(["libggml-cpu-apple_m1.dylib", "libggml-cpu-armv8.2_1.so"])).toEqual(["apple_m1", "armv8.2_1"]);
  });
  test("AMX is either amx_tile or amx_int8", () => {
    expect(hostHasAmx(AMX)).toBe(true);
    expect(hostHasAmx(new Set(["amx_int8"]))).toBe(true);
    expect(hostHasAmx(NO_AMX)).toBe(false);
  });
});

describe("planExclusions", () => {
  test("the npm prebuilt (no build info) is used as it is, AMX or not", () => {
    expect(planExclusions(facts({}))).toEqual({ excluded: [] });
  });
  test("a portable source build without the fix leaves out its AMX variant on an AMX CPU", () => {
    const plan = planExclusions(facts({ buildInfo: unpatched("portable") }));
    expect(plan.excluded).toEqual(["sapphirerapids"]);
    expect(plan.reason).toContain("AMX");
  });
  test("the same build on a CPU without AMX loses nothing", () => {
    expect(planExclusions(facts({ buildInfo: unpatched("portable"), cpuFlags: NO_AMX }))).toEqual({ excluded: [] });
  });
  test("a build with the fix keeps its AMX variant", () => {
    expect(planExclusions(facts({ buildInfo: patched("portable") }))).toEqual({ excluded: [] });
  });
  test("a single-module host build without the fix cannot be helped: a warning that says to rebuild", () => {
    const plan = planExclusions(facts({ files: SINGLE, buildInfo: unpatched("host") }));
    expect(plan.excluded).toEqual([]);
    expect(plan.warning).toContain("build.sh");
    expect(planExclusions(facts({ files: SINGLE, buildInfo: patched("host") })).warning).toBeUndefined();
  });
  test("INFERFLUX_CPU_VARIANT forces one variant, even the AMX one on an unpatched build", () => {
    expect(planExclusions(facts({ env: { INFERFLUX_CPU_VARIANT: "icelake" } })).excluded).toEqual(["haswell", "sapphirerapids", "x64"]);
    expect(planExclusions(facts({ buildInfo: unpatched("portable"), env: { INFERFLUX_CPU_VARIANT: "sapphirerapids" } })).excluded).toEqual(["haswell", "icelake", "x64"]);
    expect(planExclusions(facts({ env: { INFERFLUX_CPU_VARIANT: "auto" } }))).toEqual({ excluded: [] });
  });
  test("INFERFLUX_CPU_VARIANT naming a module that is not there stops start-up, listing what is", () => {
    expect(() => planExclusions(facts({ env: { INFERFLUX_CPU_VARIANT: "zen9" } }))).toThrow(/zen9.*haswell, icelake, sapphirerapids, x64/);
    expect(() => planExclusions(facts({ files: SINGLE, env: { INFERFLUX_CPU_VARIANT: "icelake" } }))).toThrow(/single CPU module/);
  });
});
