#pragma once
// A TCP proxy on a free loopback port for network fault tests: every connection is
// forwarded to 127.0.0.1:<upstream_port>, each chunk of bytes held back `delay` in
// each direction (a slow link, order kept), and drop_all() cuts every open
// connection at once (both sides see a reset), as a flaky network or a restarted
// load balancer would. One thread serves everything with poll().
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

namespace nfl::test {

class TcpProxy {
public:
  TcpProxy(int upstream_port, std::chrono::milliseconds delay);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return m_port; }
  void set_delay(std::chrono::milliseconds delay) { m_delay_ms = delay.count(); }
  // Cuts every connection open now; new connections are accepted as before.
  void drop_all();

  std::int64_t connections_accepted() const { return m_accepted; }
  std::int64_t connections_dropped() const { return m_dropped; }

private:
  void loop();

  int m_port = 0;
  int m_upstream_port = 0;
  int m_listen_fd = -1;
  int m_wake[2] = {-1, -1}; // self-pipe: stop and drop requests
  std::atomic<std::int64_t> m_delay_ms{0};
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_drop_requests{0};
  std::atomic<std::int64_t> m_accepted{0};
  std::atomic<std::int64_t> m_dropped{0};
  std::thread m_thread;
};

} // namespace nfl::test
