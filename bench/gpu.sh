#!/usr/bin/env bash
# The GPU checks of docs/gpu.md, for a machine with an NVIDIA GPU (H100/H200 class):
#   1. builds with the CUDA kernels (NFL_CUDA=ON) in $BUILD_DIR (default build-cuda),
#   2. checks the binary does not need libcuda/libcudart (it must start without a driver),
#   3. runs the GPU-vs-CPU tests (exact streams, equal odds; none may be skipped),
#   4. benchmarks seasons/s (CUDA vs 1 and 2 CPU threads) and training throughput,
#      writing the JSON to $RESULTS (default bench/results/gpu-<UTC time>.json).
# Exits 2 at once when no GPU is present; 1 when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build-cuda}
RESULTS=${RESULTS:-bench/results/gpu-$(date -u +%Y%m%dT%H%M%SZ).json}
JOBS=${JOBS:-$(nproc)}

fail() { echo "bench/gpu.sh: $*" >&2; exit 1; }

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "bench/gpu.sh: no NVIDIA GPU here (nvidia-smi -L failed); run it on a GPU machine" >&2
  exit 2
fi
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[[ -x "$NVCC" ]] || fail "no nvcc (looked on PATH and at /usr/local/cuda/bin/nvcc); set NVCC"
for tool in cmake ninja; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/bootstrap.sh installs the build tools)"
done
echo "== GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
echo "== nvcc: $("$NVCC" --version | tail -1)"

echo "== build ($BUILD_DIR, NFL_CUDA=ON)"
start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNFL_CUDA=ON \
  -DCMAKE_CUDA_COMPILER="$NVCC" -DNFL_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target nfl-compute test_analytics_gpu gpu_bench
echo "build took $(( $(date +%s) - start )) s"

echo "== the binary starts without a driver: no libcuda/libcudart in its dependencies"
if ldd "$BUILD_DIR/nfl-compute" | grep -E 'libcuda\.|libcudart' ; then
  fail "nfl-compute links the CUDA driver or a shared runtime dynamically"
fi
"$BUILD_DIR/nfl-compute" hardware | tee /dev/stderr | grep -q '^cuda: *built .*device ' \
  || fail "nfl-compute hardware does not report a CUDA device"

echo "== GPU-vs-CPU tests"
log=$(mktemp)
"$BUILD_DIR/tests/test_analytics_gpu" --gtest_filter='SeasonKernel.*:CudaStatus.*:Training*' | tee "$log"
if grep -q '\[  SKIPPED \]' "$log"; then
  fail "a GPU test was skipped on a GPU machine"
fi

echo "== benchmark"
mkdir -p "$(dirname "$RESULTS")"
"$BUILD_DIR/bench/gpu_bench" --require-gpu > "$RESULTS"
cat "$RESULTS"
python3 - "$RESULTS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["season"]
ratio = s.get("cuda_vs_cpu2", 0.0)
print(f"device {r['device']}: CUDA {s.get('cuda_seasons_per_s', 0):,.0f} seasons/s "
      f"(draws alone {s.get('cuda_draw_only_seasons_per_s', 0):,.0f}/s); CPU 1 thread "
      f"{s['cpu_1_threads_seasons_per_s']:,.0f}/s, 2 threads {s['cpu_2_threads_seasons_per_s']:,.0f}/s; "
      f"ratio to 2 threads {ratio:.1f}x (target 100x: {'met' if ratio >= 100 else 'NOT met'})")
for k, v in r["training"].items():
    print(f"training {k}: {v['samples_per_s']:,.0f} samples/s on {v['device']}")
PY
echo "results: $RESULTS"
