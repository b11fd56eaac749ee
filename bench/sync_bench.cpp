// Snapshot merge at scale (issue #5/#8 target: 1,000,000 tasks in < 5 s and < 1 GiB).
//   build/bench/sync_bench [N] [DIR]
// Writes two snapshots of N tasks (this machine's replica and another machine's
// snapshot in which 11% of the tasks changed, 1% were also completed there, and N/100
// are new), then merges them in a fresh child process so its peak memory is the
// merge's alone. Prints one JSON line per figure (bench/README.md).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "model/task.hpp"
#include "sync/merge_files.hpp"
#include "sync/snapshot.hpp"

namespace fs = std::filesystem;
using namespace nfl;

namespace {

constexpr Millis k_epoch = 1'764'300'000'000;

std::string state_of(std::size_t i, TaskStatus status, const std::string& machine) {
  Task t;
  t.id = fmt::format("features_{:016x}", i * 0x9E3779B97F4A7C15ULL);
  t.name = fmt::format("features season {} week {}", 1999 + i % 27, i % 18 + 1);
  t.task_type = "features";
  t.config = Json{{"season", 1999 + static_cast<int>(i % 27)}, {"week", static_cast<int>(i % 18) + 1}};
  t.queue = "cpu:parallel";
  t.created_at = "2026-11-28T12:00:00.000Z";
  t.status = status;
  t.machine_id = machine;
  t.attempts = status == TaskStatus::pending ? 0 : 1;
  t.enqueued_at_ms = k_epoch + static_cast<Millis>(i);
  if (status == TaskStatus::completed) {
    t.result = Json{{"rows", 272}, {"path", fmt::format("artifacts/{}/features.csv", t.id)}};
    t.finished_at_ms = k_epoch + 60'000 + static_cast<Millis>(i);
    t.wall_seconds = 0.8;
    t.cpu_seconds = 0.7;
  }
  return sync::task_state_json(t);
}

std::vector<std::size_t> sorted_indices(std::size_t n) {
  // Ids sort by their hex text, not by i: order the indices the way the files must be.
  std::vector<std::pair<std::string, std::size_t>> ids;
  ids.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ids.emplace_back(fmt::format("features_{:016x}", i * 0x9E3779B97F4A7C15ULL), i);
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::size_t> out;
  out.reserve(n);
  for (auto& p : ids) {
    out.push_back(p.second);
  }
  return out;
}

sync::Record record(std::size_t i, const std::string& state, const std::string& origin, Millis at) {
  sync::Record r;
  r.id = fmt::format("features_{:016x}", i * 0x9E3779B97F4A7C15ULL);
  r.user_version = sync::Hlc{k_epoch, 0};
  r.version = sync::Hlc{at, 0};
  r.based_on = sync::Hlc{k_epoch, 0};
  r.origin = origin;
  r.state = state;
  r.digest = sync::state_digest(state);
  return r;
}

sync::SnapshotHeader header(const std::string& machine) {
  sync::SnapshotHeader h;
  h.machine_id = machine;
  h.created = sync::Hlc{k_epoch + 3'600'000, 0};
  h.created_unix_ms = k_epoch + 3'600'000;
  return h;
}

void generate(const fs::path& dir, std::size_t n) {
  fs::create_directories(dir);
  std::size_t total = n + n / 100;
  auto order = sorted_indices(total);
  sync::SnapshotWriter mine(header("alpha"));
  sync::SnapshotWriter theirs(header("beta"));
  for (std::size_t i : order) {
    bool is_new = i >= n;
    if (!is_new) {
      auto r = record(i, state_of(i, i % 2 ? TaskStatus::completed : TaskStatus::pending, i % 2 ? "alpha" : ""),
                      "alpha", k_epoch + 1000);
      if (i % 2) {
        r.completions.push_back({r.version, "alpha", r.state, r.digest});
      }
      mine.add(r);
    }
    if (is_new || i % 10 == 0 || i % 100 == 1) { // 10% changed there; 1% also completed there (duplicates)
      auto r = record(i, state_of(i, TaskStatus::completed, "beta"), "beta", k_epoch + 2000);
      r.completions.push_back({r.version, "beta", r.state, r.digest});
      theirs.add(r);
    } else {
      auto r = record(i, state_of(i, i % 2 ? TaskStatus::completed : TaskStatus::pending, i % 2 ? "alpha" : ""),
                      "alpha", k_epoch + 1000);
      if (i % 2) {
        r.completions.push_back({r.version, "alpha", r.state, r.digest});
      }
      theirs.add(r);
    }
  }
  auto a = mine.commit(dir / "alpha.snap");
  auto b = theirs.commit(dir / "beta.snap");
  std::printf("# generated %zu + %zu records: %.1f MB and %.1f MB on disk (%.0f B/task)\n", n, total,
              static_cast<double>(a) / 1e6, static_cast<double>(b) / 1e6, static_cast<double>(b) / static_cast<double>(total));
}

int merge(const fs::path& dir, std::size_t n) {
  auto t0 = std::chrono::steady_clock::now();
  auto stats = sync::merge_snapshot_files({dir / "alpha.snap", dir / "beta.snap"}, dir / "merged.snap", header("alpha"));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double peak_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  // Verified: every record of both sides is in the merge (the 1% new ones included).
  const char* verified = stats.records_out == n + n / 100 ? "true" : "false";
  std::printf("{\"system\": \"nfl-compute\", \"metric\": \"snapshot_merge_seconds\", \"value\": %.3f, \"unit\": \"s\", "
              "\"n\": %zu, \"concurrency\": 1, \"verified\": %s}\n",
              seconds, n, verified);
  std::printf("{\"system\": \"nfl-compute\", \"metric\": \"snapshot_merge_peak_rss\", \"value\": %.1f, \"unit\": \"MiB\", "
              "\"n\": %zu, \"concurrency\": 1, \"verified\": %s}\n",
              peak_mib, n, verified);
  std::printf("# merged %llu records into %llu (%llu duplicate completions kept), wrote %.1f MB\n",
              static_cast<unsigned long long>(stats.records_in), static_cast<unsigned long long>(stats.records_out),
              static_cast<unsigned long long>(stats.duplicates), static_cast<double>(stats.bytes_out) / 1e6);
  return stats.records_out == n + n / 100 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--merge-only") {
    return merge(argv[3], std::stoull(argv[2]));
  }
  std::size_t n = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  fs::path dir = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path() / fmt::format("nfl-sync-bench-{}", ::getpid());
  generate(dir, n);
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) {
    // A fresh program image, so the peak memory reported is the merge's alone.
    std::string count = std::to_string(n);
    std::string where = dir.string();
    ::execl("/proc/self/exe", argv[0], "--merge-only", count.c_str(), where.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (argc <= 2) {
    fs::remove_all(dir);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
