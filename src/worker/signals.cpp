#include <atomic>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "worker/worker.hpp"

namespace nfl {
namespace {

// The handler may only touch these (async-signal-safe: an atomic and write()).
std::atomic<int> g_pipe_write{-1};
std::atomic<int> g_signals{0};

extern "C" void on_stop_signal(int sig) {
  int saved = errno;
  if (g_signals.fetch_add(1) >= 1) {
    // Second signal: end now. Leases expire and other workers reclaim the tasks;
    // results waiting out an outage are already durable in the spool.
    ::_exit(128 + sig);
  }
  int fd = g_pipe_write.load();
  if (fd >= 0) {
    char b = static_cast<char>(sig);
    [[maybe_unused]] auto n = ::write(fd, &b, 1);
  }
  errno = saved;
}

} // namespace

class SignalGuard::Impl {
public:
  explicit Impl(Worker& worker) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw std::runtime_error("signal pipe: cannot create");
    }
    m_read = fds[0];
    m_write = fds[1];
    g_signals = 0;
    g_pipe_write = m_write;
    m_thread = std::thread([this, &worker] {
      char b = 0;
      for (;;) {
        ssize_t n = ::read(m_read, &b, 1);
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n <= 0 || b == 0) {
          return; // the guard is going away
        }
        worker.request_stop();
      }
    });
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGTERM, &sa, &m_old_term);
    ::sigaction(SIGINT, &sa, &m_old_int);
  }
  ~Impl() {
    ::sigaction(SIGTERM, &m_old_term, nullptr);
    ::sigaction(SIGINT, &m_old_int, nullptr);
    g_pipe_write = -1;
    char b = 0;
    [[maybe_unused]] auto n = ::write(m_write, &b, 1);
    m_thread.join();
    ::close(m_read);
    ::close(m_write);
  }

private:
  int m_read = -1;
  int m_write = -1;
  std::thread m_thread;
  struct sigaction m_old_term {};
  struct sigaction m_old_int {};
};

SignalGuard::SignalGuard(Worker& worker) : m_impl(std::make_unique<Impl>(worker)) {}
SignalGuard::~SignalGuard() = default;

} // namespace nfl
