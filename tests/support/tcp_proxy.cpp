#include "support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <deque>
#include <fcntl.h>
#include <list>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace nfl::test {

namespace {

using Clock = std::chrono::steady_clock;

struct Chunk {
  Clock::time_point due;
  std::string bytes;
  std::size_t sent = 0;
};

// One direction of a link: bytes read from `from`, held back, written to `to`.
struct Direction {
  std::deque<Chunk> queue;
  bool eof = false;      // `from` said it will send nothing more
  bool shut = false;     // the EOF has been passed on to `to`
};

struct Link {
  int client = -1;
  int server = -1;
  Direction up;   // client -> server
  Direction down; // server -> client
};

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void close_hard(int fd) {
  if (fd < 0) {
    return;
  }
  // SO_LINGER 0: close sends a reset, as a dropped connection looks to both peers.
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

int connect_upstream(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_nonblocking(fd);
  return fd;
}

// Reads what `from` has; false when the link must close (error).
bool pump_in(int from, Direction& d, std::chrono::milliseconds delay) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(from, buf, sizeof buf, 0);
    if (n > 0) {
      d.queue.push_back({Clock::now() + delay, std::string(buf, static_cast<std::size_t>(n)), 0});
      continue;
    }
    if (n == 0) {
      d.eof = true;
      return true;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
}

// Writes the chunks that are due to `to`; false when the link must close. Sets
// `blocked` when the socket buffer is full.
bool pump_out(int to, Direction& d, bool& blocked) {
  blocked = false;
  const auto now = Clock::now();
  while (!d.queue.empty() && d.queue.front().due <= now) {
    auto& c = d.queue.front();
    ssize_t n = ::send(to, c.bytes.data() + c.sent, c.bytes.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        blocked = true;
        return true;
      }
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    c.sent += static_cast<std::size_t>(n);
    if (c.sent == c.bytes.size()) {
      d.queue.pop_front();
    }
  }
  if (d.queue.empty() && d.eof && !d.shut) {
    ::shutdown(to, SHUT_WR);
    d.shut = true;
  }
  return true;
}

} // namespace

TcpProxy::TcpProxy(int upstream_port, std::chrono::milliseconds delay)
    : m_upstream_port(upstream_port), m_delay_ms(delay.count()) {
  m_listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(m_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(m_listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(m_listen_fd, 128) != 0) {
    ::close(m_listen_fd);
    throw std::runtime_error("TcpProxy: cannot listen on loopback");
  }
  socklen_t len = sizeof addr;
  ::getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  m_port = ntohs(addr.sin_port);
  set_nonblocking(m_listen_fd);
  if (::pipe2(m_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(m_listen_fd);
    throw std::runtime_error("TcpProxy: pipe failed");
  }
  m_thread = std::thread([this] { loop(); });
}

TcpProxy::~TcpProxy() {
  m_stop = true;
  [[maybe_unused]] auto n = ::write(m_wake[1], "s", 1);
  m_thread.join();
  ::close(m_listen_fd);
  ::close(m_wake[0]);
  ::close(m_wake[1]);
}

void TcpProxy::drop_all() {
  ++m_drop_requests;
  [[maybe_unused]] auto n = ::write(m_wake[1], "d", 1);
}

void TcpProxy::loop() {
  std::list<Link> links;
  int drops_done = 0;
  auto close_link = [&](std::list<Link>::iterator it) {
    close_hard(it->client);
    close_hard(it->server);
    return links.erase(it);
  };
  while (!m_stop) {
    if (int want = m_drop_requests.load(); want != drops_done) {
      drops_done = want;
      m_dropped += static_cast<std::int64_t>(links.size());
      while (!links.empty()) {
        close_link(links.begin());
      }
    }
    const auto delay = std::chrono::milliseconds(m_delay_ms.load());
    std::vector<pollfd> fds = {{m_listen_fd, POLLIN, 0}, {m_wake[0], POLLIN, 0}};
    auto next_due = Clock::time_point::max();
    for (auto& l : links) {
      for (auto [from, to, d] : {std::tuple{l.client, l.server, &l.up}, std::tuple{l.server, l.client, &l.down}}) {
        bool blocked = false;
        short to_events = 0;
        if (!d->queue.empty()) {
          if (d->queue.front().due <= Clock::now()) {
            pump_out(to, *d, blocked);
          }
          if (blocked) {
            to_events = POLLOUT;
          } else if (!d->queue.empty()) {
            next_due = std::min(next_due, d->queue.front().due);
          }
        }
        fds.push_back({from, static_cast<short>(d->eof ? 0 : POLLIN), 0});
        fds.push_back({to, to_events, 0});
      }
    }
    int timeout = -1;
    if (next_due != Clock::time_point::max()) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_due - Clock::now()).count();
      timeout = static_cast<int>(std::max<std::int64_t>(ms, 0) + 1);
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      return;
    }
    if (fds[1].revents) {
      char buf[64];
      while (::read(m_wake[0], buf, sizeof buf) > 0) {
      }
    }
    if (fds[0].revents & POLLIN) {
      for (;;) {
        int c = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) {
          break;
        }
        int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int s = connect_upstream(m_upstream_port);
        if (s < 0) {
          close_hard(c);
          continue;
        }
        ++m_accepted;
        links.push_back(Link{c, s, {}, {}});
      }
    }
    // Links were only appended since the fds were built: walk the old ones in order.
    std::size_t i = 2;
    for (auto it = links.begin(); it != links.end() && i < fds.size();) {
      bool ok = true;
      for (int dir = 0; dir < 2 && ok; ++dir) {
        Direction& d = dir == 0 ? it->up : it->down;
        const pollfd& from = fds[i + static_cast<std::size_t>(dir) * 2];
        const pollfd& to = fds[i + static_cast<std::size_t>(dir) * 2 + 1];
        if (from.revents & (POLLIN | POLLHUP | POLLERR)) {
          ok = pump_in(from.fd, d, delay);
        }
        if (to.revents & POLLERR) {
          ok = false;
        }
        if (ok && !d.queue.empty()) {
          bool blocked = false;
          ok = pump_out(to.fd, d, blocked);
        }
      }
      i += 4;
      // Both directions finished: the connection ended normally.
      if (!ok || (it->up.shut && it->down.shut)) {
        it = close_link(it);
      } else {
        ++it;
      }
    }
  }
  while (!links.empty()) {
    close_link(links.begin());
  }
}

} // namespace nfl::test
