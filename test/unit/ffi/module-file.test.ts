import { describe, expect, test } from "bun:test";
import { mappedFileAt, moduleFileOf } from "../../../ffi/module-file";

const MAPS = [
  "7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0 ",
  "7f1c2b400000-7f1c2b4a0000 r--p 00000000 fe:01 123456                     /opt/lib/libggml-cpu-haswell.so",
  "7f1c2b4a0000-7f1c2b6f0000 r-xp 000a0000 fe:01 123456                     /opt/lib/libggml-cpu-haswell.so",
  "7f1c2c000000-7f1c2c010000 r-xp 00000000 fe:01 777 /opt/my libs/libllama.so",
  "7ffd1e000000-7ffd1e021000 rw-p 00000000 00:00 0                          [stack]",
].join("\n");

describe("mappedFileAt", () => {
  test("finds the file whose mapping holds the address, code segment included", () => {
    expect(mappedFileAt(MAPS, 0x7f1c2b4a1234n)).toBe("/opt/lib/libggml-cpu-haswell.so");
    expect(mappedFileAt(MAPS, 0x7f1c2b400000n)).toBe("/opt/lib/libggml-cpu-haswell.so");
  });
  test("keeps spaces in paths", () => {
    expect(mappedFileAt(MAPS, 0x7f1c2c000010n)).toBe("/opt/my libs/libllama.so");
  });
  test("anonymous memory, pseudo-files, end addresses and unmapped addresses give nothing", () => {
    expect(mappedFileAt(MAPS, 0x7f1c2a000010n)).toBeUndefined();
    expect(mappedFileAt(MAPS, 0x7ffd1e000010n)).toBeUndefined();
    expect(mappedFileAt(MAPS, 0x7f1c2c010000n)).toBeUndefined();
    expect(mappedFileAt(MAPS, 0x1000n)).toBeUndefined();
    expect(mappedFileAt("", 0x1000n)).toBeUndefined();
  });
  test.skipIf(process.platform !== "linux")("this process: an address in a loaded library names its file", () => {
    const { dlopen } = require("bun:ffi");
    const libc = dlopen("libc.so.6", { getpid: { args: [], returns: "i32" } });
    const file = moduleFileOf(libc.symbols.getpid.ptr as number);
    expect(file).toMatch(/libc[.-]/);
    libc.close();
  });
});
