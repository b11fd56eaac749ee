#include "sync/sync_loop.hpp"

#include <spdlog/spdlog.h>

#include "util/error.hpp"

namespace nfl::sync {

SyncLoop::SyncLoop(StoreFactory factory, SyncOptions options, std::chrono::milliseconds interval)
    : m_factory(std::move(factory)), m_options(std::move(options)), m_interval(interval) {}

SyncLoop::~SyncLoop() { stop(); }

void SyncLoop::run_round() {
  try {
    if (!m_store) {
      m_store = m_factory();
    }
    auto r = Syncer(*m_store, m_options).run_once();
    spdlog::info("sync: {} local changes, {} snapshots merged, {} installed, {} conflicts, {} duplicates, {} skipped "
                 "files; wrote {} ({} tasks, {} bytes) in {:.2f}s",
                 r.local_changes, r.snapshots_merged, r.imported, r.conflicts, r.duplicates, r.skipped.size(),
                 r.snapshot_file, r.records, r.snapshot_bytes, r.seconds);
  } catch (const StoreUnavailable& e) {
    m_store.reset(); // reconnect next round
    spdlog::warn("sync: store unavailable ({}); next round in {}s", e.what(), m_interval.count() / 1000);
  } catch (const std::exception& e) {
    spdlog::error("sync: round failed: {}; next round in {}s", e.what(), m_interval.count() / 1000);
  }
}

void SyncLoop::start() {
  std::lock_guard lock(m_mutex);
  if (!m_thread.joinable()) {
    m_stopping = false;
    m_thread = std::thread([this] { loop(); });
  }
}

void SyncLoop::stop() {
  {
    std::lock_guard lock(m_mutex);
    if (!m_thread.joinable()) {
      return;
    }
    m_stopping = true;
  }
  m_cv.notify_all();
  m_thread.join();
  run_round();
}

void SyncLoop::loop() {
  std::unique_lock lock(m_mutex);
  while (!m_cv.wait_for(lock, m_interval, [this] { return m_stopping; })) {
    lock.unlock();
    run_round();
    lock.lock();
  }
}

} // namespace nfl::sync
