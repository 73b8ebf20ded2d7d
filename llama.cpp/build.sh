#!/usr/bin/env bash
# Build the pinned llama.cpp (llama.cpp/VERSION) as shared libraries + llama-server.
#
# Usage: bash llama.cpp/build.sh <cpu|cuda|rocm|metal|vulkan> [options] [-- extra cmake args]
#   --jobs N           parallel compile jobs (default: number of CPUs)
#   --configure-only   run the cmake configure step only (check a GPU toolchain)
#   --portable         CPU code for any x86-64/arm64 machine: GGML_CPU_ALL_VARIANTS=ON (one
#                      libggml-cpu-<variant> per ISA level, the best one picked at run time,
#                      like the npm prebuilt; ~10x longer CPU build). Default: one CPU module
#                      for this machine's instruction sets (libggml-cpu.so).
#   --gpu-arch LIST    CUDA: CMAKE_CUDA_ARCHITECTURES (e.g. "90" or "80;86;90");
#                      ROCm: GPU_TARGETS (e.g. "gfx90a;gfx942"). Default: the GPUs present,
#                      or (CUDA with no visible GPU) 75-virtual;80-virtual;86-real;89-real;90-real
#   --clean            delete llama.cpp/build/<backend> first
#   --no-fetch         do not run fetch-source.sh (llama.cpp/src must exist)
#
# Output: llama.cpp/build/<backend>/bin/ holds everything together: libllama.so,
# libggml.so, libggml-base.so, the backend modules (libggml-cpu*.so, libggml-cuda.so, ...,
# loaded at run time because GGML_BACKEND_DL=ON) and llama-server. RPATHs are $ORIGIN,
# so the directory can be moved. (.dylib instead of .so on macOS.)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src"

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "[build] ERROR: $*" >&2; exit 1; }
log() { echo "[build] $*" >&2; }

ncpu() { nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2; }

[ $# -ge 1 ] || { usage; exit 2; }
BACKEND="$1"; shift
case "$BACKEND" in
  cpu|cuda|rocm|metal|vulkan) ;;
  -h|--help) usage; exit 0 ;;
  *) usage; die "unknown backend '$BACKEND' (want cpu, cuda, rocm, metal or vulkan)" ;;
esac

JOBS="$(ncpu)"
CONFIGURE_ONLY=0
PORTABLE=0
CLEAN=0
FETCH=1
GPU_ARCH=""
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs|-j) JOBS="${2:?--jobs needs a number}"; shift 2 ;;
    --jobs=*) JOBS="${1#*=}"; shift ;;
    --configure-only) CONFIGURE_ONLY=1; shift ;;
    --portable) PORTABLE=1; shift ;;
    --gpu-arch) GPU_ARCH="${2:?--gpu-arch needs a list}"; shift 2 ;;
    --gpu-arch=*) GPU_ARCH="${1#*=}"; shift ;;
    --clean) CLEAN=1; shift ;;
    --no-fetch) FETCH=0; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
[[ "$JOBS" =~ ^[0-9]+$ ]] && [ "$JOBS" -ge 1 ] || die "--jobs must be a positive integer"

BUILD="$HERE/build/$BACKEND"
BIN="$BUILD/bin"
OS="$(uname -s)"
if [ "$OS" = Darwin ]; then SO=dylib; else SO=so; fi

# --- toolchain checks ------------------------------------------------------------
command -v cmake >/dev/null || die "cmake not found (need >= 3.14; e.g. apt-get install cmake)"
if ! command -v c++ >/dev/null && ! command -v g++ >/dev/null && ! command -v clang++ >/dev/null; then
  die "no C++ compiler found (need gcc/g++ >= 9 or clang; e.g. apt-get install build-essential)"
fi

BACKEND_FLAGS=()
case "$BACKEND" in
  cpu) ;;
  cuda)
    NVCC="${CUDACXX:-$(command -v nvcc || true)}"
    [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
    [ -n "$NVCC" ] && [ -x "$NVCC" ] || die "CUDA toolkit not found: nvcc is not on PATH, CUDACXX is unset and /usr/local/cuda/bin/nvcc does not exist. Install the CUDA toolkit (with cuBLAS) and put nvcc on PATH or set CUDACXX=/path/to/nvcc."
    export CUDACXX="$NVCC"
    log "nvcc: $NVCC ($("$NVCC" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'))"
    BACKEND_FLAGS+=(-DGGML_CUDA=ON)
    if [ -n "$GPU_ARCH" ]; then
      BACKEND_FLAGS+=("-DCMAKE_CUDA_ARCHITECTURES=$GPU_ARCH")
    elif ! nvidia-smi -L >/dev/null 2>&1; then
      # GGML_NATIVE=ON would ask nvcc for "native", which fails without a visible GPU.
      GPU_ARCH="75-virtual;80-virtual;86-real;89-real;90-real"
      log "no NVIDIA GPU visible (nvidia-smi -L failed): CMAKE_CUDA_ARCHITECTURES=$GPU_ARCH (override with --gpu-arch)"
      BACKEND_FLAGS+=("-DCMAKE_CUDA_ARCHITECTURES=$GPU_ARCH")
    fi
    ;;
  rocm)
    HIPCONFIG="$(command -v hipconfig || true)"
    [ -z "$HIPCONFIG" ] && [ -x "${ROCM_PATH:-/opt/rocm}/bin/hipconfig" ] && HIPCONFIG="${ROCM_PATH:-/opt/rocm}/bin/hipconfig"
    [ -n "$HIPCONFIG" ] || die "ROCm/HIP not found: hipconfig is not on PATH and ${ROCM_PATH:-/opt/rocm}/bin/hipconfig does not exist. Install ROCm >= 6.1 (hipcc, hipBLAS, rocBLAS) and put /opt/rocm/bin on PATH."
    export HIPCXX="${HIPCXX:-$("$HIPCONFIG" -l)/clang}"
    export HIP_PATH="${HIP_PATH:-$("$HIPCONFIG" -R)}"
    [ -x "$HIPCXX" ] || die "HIP clang not found at $HIPCXX (set HIPCXX=/opt/rocm/llvm/bin/clang)"
    log "HIPCXX=$HIPCXX HIP_PATH=$HIP_PATH"
    BACKEND_FLAGS+=(-DGGML_HIP=ON)
    [ -n "$GPU_ARCH" ] && BACKEND_FLAGS+=("-DGPU_TARGETS=$GPU_ARCH")
    ;;
  metal)
    [ "$OS" = Darwin ] || die "the metal backend builds on macOS only (uname -s is $OS)"
    xcrun --version >/dev/null 2>&1 || die "Xcode command line tools not found (xcode-select --install)"
    BACKEND_FLAGS+=(-DGGML_METAL=ON)
    ;;
  vulkan)
    GLSLC="$(command -v glslc || true)"
    [ -z "$GLSLC" ] && [ -n "${VULKAN_SDK:-}" ] && [ -x "$VULKAN_SDK/bin/glslc" ] && GLSLC="$VULKAN_SDK/bin/glslc"
    [ -n "$GLSLC" ] || die "Vulkan SDK not found: glslc is not on PATH (and not in \$VULKAN_SDK/bin). Install the LunarG Vulkan SDK and source its setup-env.sh, or on Debian/Ubuntu: apt-get install libvulkan-dev glslc spirv-headers"
    if [ -z "${VULKAN_SDK:-}" ] && [ ! -f /usr/include/vulkan/vulkan.h ] && ! pkg-config --exists vulkan 2>/dev/null; then
      die "Vulkan headers/loader not found (vulkan/vulkan.h). Install libvulkan-dev or the LunarG Vulkan SDK (and set VULKAN_SDK)."
    fi
    log "glslc: $GLSLC"
    BACKEND_FLAGS+=(-DGGML_VULKAN=ON)
    ;;
esac

# --- source + pinned headers -----------------------------------------------------------
if [ "$FETCH" = 1 ]; then
  bash "$HERE/fetch-source.sh"
fi
[ -f "$SRC/CMakeLists.txt" ] || die "llama.cpp/src is missing; run bash llama.cpp/fetch-source.sh"

# The headers the binding is written against (llama.h and the ggml headers it includes).
mkdir -p "$HERE/include"
changed=""
for h in include/llama.h ggml/include/ggml.h ggml/include/ggml-cpu.h ggml/include/ggml-backend.h \
         ggml/include/ggml-alloc.h ggml/include/ggml-opt.h ggml/include/gguf.h; do
  name="$(basename "$h")"
  if ! cmp -s "$SRC/$h" "$HERE/include/$name"; then
    cp "$SRC/$h" "$HERE/include/$name"
    changed="$changed $name"
  fi
done
[ -n "$changed" ] && log "updated llama.cpp/include/:$changed (commit these: the binding is written against them)"

# --- configure ---------------------------------------------------------------------------
[ "$CLEAN" = 1 ] && rm -rf "$BUILD"

GEN=()
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  command -v ninja >/dev/null && GEN=(-G Ninja)
fi

# CPU code. GGML_NATIVE=ON is rejected on x86 together with GGML_BACKEND_DL ("the feature
# check relies on ARCH_DEFINITIONS"), so on x86 the default is one "host" CPU module built
# with the host's instruction sets passed explicitly (GGML_AVX2=ON, ...): the same code
# GGML_NATIVE would give, and libggml-cpu.so still checks at load time that the CPU has them.
# On other architectures GGML_NATIVE=ON works with GGML_BACKEND_DL and is used.
x86_host_flags() {
  local f=""
  if [ -r /proc/cpuinfo ]; then
    f=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  elif [ "$OS" = Darwin ]; then
    f=" $(sysctl -n machdep.cpu.features machdep.cpu.leaf7_features 2>/dev/null | tr 'A-Z.' 'a-z_' | tr '\n' ' ') "
  fi
  [[ "$f" == *" sse4_2 "* ]] || return 1
  has() { local x; for x in "$@"; do [[ "$f" == *" $x "* ]] || return 1; done; }
  onoff() { if has "$@"; then echo ON; else echo OFF; fi; }
  echo "-DGGML_SSE42=ON"
  echo "-DGGML_AVX=$(onoff avx)"
  echo "-DGGML_F16C=$(onoff f16c)"
  echo "-DGGML_FMA=$(onoff fma)"
  echo "-DGGML_AVX2=$(onoff avx2)"
  echo "-DGGML_BMI2=$(onoff bmi2)"
  echo "-DGGML_AVX_VNNI=$(onoff avx_vnni)"
  echo "-DGGML_AVX512=$(onoff avx512f avx512cd avx512vl avx512dq avx512bw)"
  echo "-DGGML_AVX512_VBMI=$(onoff avx512f avx512vbmi)"
  echo "-DGGML_AVX512_VNNI=$(onoff avx512f avx512_vnni)"
  echo "-DGGML_AVX512_BF16=$(onoff avx512f avx512_bf16)"
  echo "-DGGML_AMX_TILE=$(onoff amx_tile)"
  echo "-DGGML_AMX_INT8=$(onoff amx_tile amx_int8)"
  echo "-DGGML_AMX_BF16=$(onoff amx_tile amx_bf16)"
}
CPU_MODE=portable
CPU_FLAGS=(-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=ON)
if [ "$PORTABLE" = 0 ]; then
  case "$(uname -m)" in
    x86_64|amd64|i686)
      if host_flags="$(x86_host_flags)"; then
        CPU_MODE=host
        # shellcheck disable=SC2206
        CPU_FLAGS=(-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF $host_flags)
        log "CPU: host instruction sets: $(echo "$host_flags" | grep '=ON' | sed 's/-DGGML_//; s/=ON//' | tr '\n' ' ')"
      else
        log "CPU: could not read the host's instruction sets; building all CPU variants (--portable)"
      fi ;;
    *) CPU_MODE=native; CPU_FLAGS=(-DGGML_NATIVE=ON -DGGML_CPU_ALL_VARIANTS=OFF) ;;
  esac
fi

CMAKE_ARGS=(
  -S "$SRC" -B "$BUILD" ${GEN[@]+"${GEN[@]}"}
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=ON
  -DGGML_BACKEND_DL=ON
  ${CPU_FLAGS[@]+"${CPU_FLAGS[@]}"}
  -DGGML_OPENMP=OFF                 # ggml's own thread pool, like the npm prebuilt
  -DCMAKE_BUILD_RPATH_USE_ORIGIN=ON # relocatable bin/ ($ORIGIN)
  -DLLAMA_CURL=OFF
  -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_TOOLS=ON
  -DLLAMA_BUILD_SERVER=ON
  -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_UI=OFF              # no npm build of the web UI
  -DLLAMA_USE_PREBUILT_UI=OFF       # no download of the web UI (offline builds)
  ${BACKEND_FLAGS[@]+"${BACKEND_FLAGS[@]}"}
  ${EXTRA[@]+"${EXTRA[@]}"}
)

log "cmake ${CMAKE_ARGS[*]}"
mkdir -p "$BUILD"
CONFIGURE_LOG="$BUILD/inferflux-configure.log"
if ! cmake "${CMAKE_ARGS[@]}" 2>&1 | tee "$CONFIGURE_LOG"; then
  hint=""
  if grep -q "CUDA::cublas" "$CONFIGURE_LOG"; then
    cuda_root="$(sed -n 's/.*Found CUDAToolkit: \([^ ]*\)\/include.*/\1/p' "$CONFIGURE_LOG" | head -1)"
    hint="cuBLAS not found: the CUDA toolkit at ${cuda_root:-?} has nvcc but no cublas_v2.h / libcublas. Install the toolkit's math libraries (e.g. cuda-libraries-dev-<ver> or libcublas-dev-<ver> from NVIDIA's repository, or the full CUDA toolkit)."
  elif grep -q "Could NOT find Vulkan\|SPIRV-Headers" "$CONFIGURE_LOG"; then
    hint="Vulkan SDK incomplete: need the Vulkan headers+loader, glslc and SPIRV-Headers (apt-get install libvulkan-dev glslc spirv-headers, or the LunarG SDK)."
  elif grep -q "hipblas\|rocblas\|HIP and hipBLAS" "$CONFIGURE_LOG"; then
    hint="ROCm incomplete: need hipBLAS and rocBLAS (ROCm >= 6.1)."
  fi
  [ -n "$hint" ] && echo "[build] $hint" >&2
  die "cmake configure failed for backend '$BACKEND' (messages above; full log: $CONFIGURE_LOG)"
fi

if [ "$CONFIGURE_ONLY" = 1 ]; then
  log "configured $BUILD (--configure-only: nothing built)"
  exit 0
fi

# --- build -------------------------------------------------------------------------------
# `llama` depends on ggml, which (GGML_BACKEND_DL) depends on every backend module.
start=$(date +%s)
log "cmake --build $BUILD --config Release -j $JOBS --target llama llama-server"
cmake --build "$BUILD" --config Release -j "$JOBS" --target llama llama-server
log "built in $(( $(date +%s) - start ))s"

# --- check the output directory ----------------------------------------------------------
missing=""
for lib in libllama libggml libggml-base; do
  [ -e "$BIN/$lib.$SO" ] || missing="$missing $lib.$SO"
done
ls "$BIN"/libggml-cpu*."$SO" >/dev/null 2>&1 || missing="$missing libggml-cpu*.$SO"
case "$BACKEND" in
  cuda) [ -e "$BIN/libggml-cuda.$SO" ] || missing="$missing libggml-cuda.$SO" ;;
  rocm) [ -e "$BIN/libggml-hip.$SO" ] || missing="$missing libggml-hip.$SO" ;;
  vulkan) [ -e "$BIN/libggml-vulkan.$SO" ] || missing="$missing libggml-vulkan.$SO" ;;
  metal) [ -e "$BIN/libggml-metal.$SO" ] || [ -e "$BIN/libggml-metal.so" ] || missing="$missing libggml-metal" ;;
esac
[ -x "$BIN/llama-server" ] || missing="$missing llama-server"
[ -z "$missing" ] || die "build finished but $BIN lacks:$missing"

{
  echo "backend=$BACKEND"
  grep -v '^#' "$HERE/VERSION" | sed '/^$/d'
  [ -f "$SRC/.inferflux-pin" ] && sed -n -e 's/^route=/source_route=/p' -e 's/^patches=/source_patches=/p' "$SRC/.inferflux-pin"
  echo "cpu_mode=$CPU_MODE"
  echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$BIN/inferflux-build.txt"

log "done: $BIN"
ls -1 "$BIN" | grep -E "\.($SO)(\.|$)|^llama-server$" | sed 's/^/[build]   /' >&2
