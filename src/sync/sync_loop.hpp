#pragma once
// Runs sync rounds every GOOGLE_DRIVE_SYNC_INTERVAL on a thread beside the worker, and
// one last round on stop so a drained worker's results are published. A failed round
// is logged and retried at the next interval: sync never stops the worker.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "store/task_store.hpp"
#include "sync/syncer.hpp"

namespace nfl::sync {

class SyncLoop {
public:
  using StoreFactory = std::function<std::unique_ptr<TaskStore>()>;
  SyncLoop(StoreFactory factory, SyncOptions options, std::chrono::milliseconds interval);
  ~SyncLoop(); // stops (with a final round) if still running
  SyncLoop(const SyncLoop&) = delete;
  SyncLoop& operator=(const SyncLoop&) = delete;

  // One round now, on the caller's thread (a worker syncs before its first claim so a
  // restarted machine learns what others finished while it was away).
  void run_round();
  void start();
  void stop();

private:
  void loop();

  StoreFactory m_factory;
  SyncOptions m_options;
  std::chrono::milliseconds m_interval;
  std::unique_ptr<TaskStore> m_store;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stopping = false;
  std::thread m_thread;
};

} // namespace nfl::sync
