#!/usr/bin/env bash
# ./run test --sanitize [address|thread|all] [ctest arguments]
#   address  every test binary built with -fsanitize=address,undefined in build-asan and
#            run by ctest; any report fails the run (-fno-sanitize-recover=all)
#   thread   the suites whose code runs threads (store, worker, sync, monitor,
#            analytics_season) built with -fsanitize=thread in build-tsan and run
#   all      both (the default)
# Each has its own build folder, so the normal build/ is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
which=${1:-all}
shift || true
case "$which" in
  address|thread|all) ;;
  *) echo "usage: ./run test --sanitize [address|thread|all] [ctest arguments]" >&2; exit 2 ;;
esac
scripts/bootstrap.sh

configure() { # folder sanitizers
  if [ ! -f "$1/build.ninja" ]; then
    # No benchmarks, no CUDA (nvcc does not take the sanitizer flags). -O1 -g1: line
    # numbers in reports at a fraction of -O2 -g's compile time, and assertions on.
    cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
      -DNFL_SANITIZE="$2" -DNFL_BUILD_BENCH=OFF -DNFL_CUDA=OFF >/dev/null
  fi
}

if [ "$which" = address ] || [ "$which" = all ]; then
  configure build-asan address,undefined
  cmake --build build-asan -j"$(nproc)"
  # detect_leaks: a leak is a finding too. Suppressions, if ever needed, go to
  # scripts/sanitizers/ with a comment saying why each one is not our bug.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir build-asan --output-on-failure -j"$(nproc)" "$@"
fi

if [ "$which" = thread ] || [ "$which" = all ]; then
  configure build-tsan thread
  cmake --build build-tsan -j"$(nproc)" --target test_store test_worker test_sync test_monitor test_analytics_season
  # Only the binaries built here have tests; the others' placeholders are skipped.
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/sanitizers/tsan.supp" \
    ctest --test-dir build-tsan --output-on-failure -j"$(nproc)" -E '_NOT_BUILT$|^faults$' "$@"
fi
