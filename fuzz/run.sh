#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a bounded time.
#   fuzz/run.sh [seconds] [target...]     default: 25 seconds each, every target
# Seeds come from fuzz/corpus/<name>/ (committed, read only here); what the fuzzer
# learns goes to $FUZZ_BUILD_DIR/corpus/<name>/. A finding fails the script and is
# left in $FUZZ_BUILD_DIR/findings/ with the command that reproduces it.
# To keep a new interesting input as a seed: copy it into fuzz/corpus/<name>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-25}
shift || true
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DNFL_FUZZ=ON -DNFL_SANITIZE=address,undefined \
    -DNFL_BUILD_TESTS=OFF -DNFL_BUILD_BENCH=OFF -DNFL_CUDA=OFF >/dev/null
fi
cmake --build "$build_dir" -j"$(nproc)" --target nfl_fuzzers

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < "$build_dir/fuzz/targets.txt"
fi

# Leak checks stay on; a finding stops the run at once (UBSan included, see StandardSettings).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build_dir/findings"
failed=()
for name in "${targets[@]}"; do
  [ -n "$name" ] || continue
  work="$build_dir/corpus/$name"
  mkdir -p "$work"
  args=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -max_len=16384 -print_final_stats=1
        -artifact_prefix="$build_dir/findings/$name-")
  if [ -f "fuzz/$name.dict" ]; then
    args+=(-dict="fuzz/$name.dict")
  fi
  echo "fuzz: $name for ${seconds}s" >&2
  if ! "$build_dir/fuzz/fuzz_$name" "${args[@]}" "$work" "fuzz/corpus/$name" > "$build_dir/findings/$name.log" 2>&1; then
    tail -n 60 "$build_dir/findings/$name.log" >&2
    echo "fuzz: $name FAILED; reproduce with: $build_dir/fuzz/fuzz_$name $build_dir/findings/$name-<crash file>" >&2
    failed+=("$name")
  else
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$build_dir/findings/$name.log" | tr '\n' ' ' >&2
    echo >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]} (see $build_dir/findings/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no findings" >&2
