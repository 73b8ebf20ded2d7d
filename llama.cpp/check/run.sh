#!/usr/bin/env bash
# Builds flash-attn-unified-kv.c against a CPU build of the pinned source and runs it.
# Usage: llama.cpp/check/run.sh [BUILD_BIN_DIR]   (default: llama.cpp/build/cpu/bin)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../build/cpu/bin}"
src="$here/../src"
[ -f "$bin/libggml-cpu.so" ] || { echo "no CPU build at $bin (run llama.cpp/build.sh cpu)" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
${CC:-cc} -O2 -std=c11 -I"$src/ggml/include" "$here/flash-attn-unified-kv.c" -o "$out/fa-check" \
  "$bin/libggml-cpu.so" "$bin/libggml-base.so" -Wl,-rpath,"$bin" -lm
"$out/fa-check"
