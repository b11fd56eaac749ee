// DATA_DIR full and DATA_DIR read-only while a worker drains: no result record is
// lost, the worker says so once (and pauses claiming), and resumes by itself when
// the space or the write permission returns.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fmt/format.h>

#include "fault_harness.hpp"

namespace nfl::test::faults {
namespace {

using namespace std::chrono_literals;

// A small tmpfs mounted over a folder (mount(2) needs root or CAP_SYS_ADMIN);
// unmounted at scope exit.
class TmpfsMount {
public:
  TmpfsMount(std::filesystem::path where, const std::string& size) : m_where(std::move(where)) {
    const std::string options = "size=" + size + ",mode=0755";
    m_ok = ::mount("tmpfs", m_where.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!m_ok) {
      m_error = fmt::format("mount -t tmpfs on {} failed: {} (needs root or CAP_SYS_ADMIN)", m_where.string(),
                            std::strerror(errno));
    }
  }
  ~TmpfsMount() {
    if (m_ok) {
      ::umount2(m_where.c_str(), MNT_DETACH);
    }
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool ok() const { return m_ok; }
  const std::string& error() const { return m_error; }
  // Read-only or read-write again, contents kept.
  void set_read_only(bool ro) const {
    const unsigned long flags = ro ? MS_REMOUNT | MS_RDONLY : MS_REMOUNT;
    ASSERT_EQ(::mount(nullptr, m_where.c_str(), nullptr, flags, nullptr), 0)
        << "remount " << (ro ? "ro" : "rw") << ": " << std::strerror(errno);
  }

private:
  std::filesystem::path m_where;
  bool m_ok = false;
  std::string m_error;
};

// Writes zeros into `path` until the filesystem is full; returns the bytes written.
std::int64_t fill_up(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return 0;
  }
  std::string block(64 * 1024, '\0');
  std::int64_t total = 0;
  for (;;) {
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n <= 0) {
      break;
    }
    total += n;
  }
  // Page-sized leftovers of partly filled pages: fill them too.
  for (;;) {
    ssize_t n = ::write(fd, block.data(), 512);
    if (n <= 0) {
      break;
    }
    total += n;
  }
  ::close(fd);
  return total;
}

std::int64_t running_count(TaskStore& store) {
  try {
    return store.status().counts["running"];
  } catch (const std::exception&) {
    return -1;
  }
}

TEST(Faults, DataDirFullThenSpaceReturns) {
  RedisServer redis;
  Rig rig("data_dir_full", Backend::redis, redis.port());
  TmpfsMount mount(rig.data_dir(), "2m");
  if (!mount.ok()) {
    report_skipped(rig.scenario(), rig.backend_name(), mount.error());
    GTEST_SKIP() << mount.error();
  }
  constexpr int k_tasks = 1000;
  auto ids = rig.submit("full", k_tasks, TaskMix{.noop_share = 0.4, .sleep_max_s = 0.05});
  std::vector<Process> workers;
  workers.push_back(rig.spawn_worker("w0"));
  auto store = rig.store();
  ASSERT_TRUE(wait_for_completed(*store, 150, 120s));

  auto filler = rig.data_dir() / "filler.bin";
  const auto filled = fill_up(filler);
  // The worker reports the condition once and stops taking work it could not record.
  ASSERT_TRUE(wait_until([&] { return count_occurrences(rig.all_logs(), "DATA_DIR unwritable") >= 1; }, 60s))
      << rig.all_logs().substr(0, 3000);
  EXPECT_TRUE(wait_until([&] { return running_count(*store) == 0; }, 30s)) << "claiming did not pause";
  const auto at_full = completed_count(*store);
  random_pause(rig.rng(), 500ms, 1500ms); // the disk stays full a while

  std::filesystem::remove(filler);
  for (int code : wait_all(workers, 180s)) {
    EXPECT_EQ(code, 0);
  }
  auto row = audit(rig, ids);
  auto logs = rig.all_logs();
  row.note = fmt::format("2 MiB tmpfs DATA_DIR filled ({} KiB) at {} completed, then freed; {} report(s)", filled / 1024,
                         at_full, count_occurrences(logs, "DATA_DIR unwritable"));
  report(row);
  expect_clean(row);
  EXPECT_EQ(count_occurrences(logs, "DATA_DIR unwritable"), count_occurrences(logs, "DATA_DIR writable again"))
      << "one line when it starts, one when it ends";
  EXPECT_LE(count_occurrences(logs, "DATA_DIR unwritable"), 3) << "not one line per record";
}

TEST(Faults, DataDirReadOnlyThenWritable) {
  Rig rig("data_dir_read_only", Backend::sqlite);
  const bool root = ::geteuid() == 0;
  // Linux refuses to make a filesystem read-only while a file on it is open for
  // writing (EBUSY), and a worker keeps its result segment open; so DATA_DIR is
  // read-only before the worker writes its first record, as with a share mounted
  // read-only by mistake. Root is not stopped by file modes: it gets a tmpfs
  // remounted read-only; anyone else gets results/ without write permission.
  std::unique_ptr<TmpfsMount> mount;
  if (root) {
    mount = std::make_unique<TmpfsMount>(rig.data_dir(), "8m");
    ASSERT_TRUE(mount->ok()) << mount->error();
  }
  std::filesystem::create_directories(rig.data_dir() / "results");
  auto make_read_only = [&](bool ro) {
    if (root) {
      mount->set_read_only(ro);
    } else {
      std::filesystem::permissions(rig.data_dir() / "results",
                                   ro ? std::filesystem::perms(0555) : std::filesystem::perms(0755));
    }
  };
  constexpr int k_tasks = 500;
  auto ids = rig.submit("ro", k_tasks, TaskMix{.noop_share = 0.5, .sleep_max_s = 0.03});
  make_read_only(true);
  std::vector<Process> workers;
  workers.push_back(rig.spawn_worker("w0"));
  auto store = rig.store();
  ASSERT_TRUE(wait_until([&] { return count_occurrences(rig.all_logs(), "DATA_DIR unwritable") >= 1; }, 60s))
      << rig.all_logs().substr(0, 3000);
  EXPECT_TRUE(wait_until([&] { return running_count(*store) == 0; }, 30s)) << "claiming did not pause";
  const auto held = completed_count(*store);
  EXPECT_GT(held, 0);
  random_pause(rig.rng(), 500ms, 1500ms); // stays read-only a while
  make_read_only(false);

  for (int code : wait_all(workers, 180s)) {
    EXPECT_EQ(code, 0);
  }
  auto row = audit(rig, ids);
  auto logs = rig.all_logs();
  row.note = fmt::format("DATA_DIR {} from the start; {} results held, then writable", root ? "tmpfs mounted ro" : "results/ mode 0555",
                         held);
  report(row);
  expect_clean(row);
  EXPECT_GE(count_occurrences(logs, "DATA_DIR writable again"), 1);
}

} // namespace
} // namespace nfl::test::faults
