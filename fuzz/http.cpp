// Raw HTTP requests to the dashboard server (the JSON API, actions with and without
// the token, the page, /metrics, /healthz, the report), over a loopback socket to a
// server on a SQLite store with a few tasks. A request must never crash the server or
// get a 500, and every answer carries the security headers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/task.hpp"
#include "monitor/server.hpp"
#include "store/store_factory.hpp"

namespace {

struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<nfl::TaskStore> store;
  std::unique_ptr<nfl::monitor::DashboardServer> server;
  int port = 0;

  Fixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nfl-fuzz-http-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::abort();
    }
    dir = tmpl;
    std::filesystem::create_directories(dir / "state");
    std::filesystem::create_directories(dir / "data" / "artifacts" / "report_1");
    store = nfl::make_sqlite_store(dir / "state" / "nfl-compute.db", nfl::StoreOptions{});
    std::vector<nfl::Task> tasks;
    for (const char* id : {"a", "b", "report_1"}) {
      nfl::Task t;
      t.id = id;
      t.task_type = "noop";
      t.name = std::string("task <b>") + id + "</b>";
      nfl::normalise(t, 1'700'000'000'000);
      tasks.push_back(t);
    }
    tasks[1].depends_on = {"a"};
    store->add(tasks);
    nfl::monitor::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.token = "fuzz-token-0123456789";
    options.data_dir = dir / "data";
    server = std::make_unique<nfl::monitor::DashboardServer>(*store, options);
    port = server->bind();
    server->start();
  }
  ~Fixture() {
    server->stop();
    server.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::abort();
}

// libFuzzer's -timeout runs on SIGALRM, so any blocking call here can return EINTR
// (CI once aborted on a connect interrupted that way after 31k requests). An
// interrupted connect goes on in the background: wait for it, then read its outcome.
void connect_loopback(int fd, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    return;
  }
  if (errno != EINTR) {
    die("fuzz_http: connect");
  }
  pollfd p{fd, POLLOUT, 0};
  while (::poll(&p, 1, 10'000) < 0) {
    if (errno != EINTR) {
      die("fuzz_http: poll");
    }
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
    errno = error;
    die("fuzz_http: connect (after EINTR)");
  }
}

std::string exchange(int port, std::string_view request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    die("fuzz_http: socket");
  }
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  connect_loopback(fd, port);
  while (!request.empty()) {
    const ssize_t n = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break; // the server may close early on a request it refuses
    }
    request.remove_prefix(static_cast<std::size_t>(n));
  }
  ::shutdown(fd, SHUT_WR);
  std::string response;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return response;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  const std::string response = exchange(fixture.port, {reinterpret_cast<const char*>(data), size});
  // Every response (one per request on a kept-alive connection) is checked; bodies are
  // skipped by Content-Length (the server never sends chunked answers).
  std::size_t at = 0;
  while (at < response.size() && response.compare(at, 9, "HTTP/1.1 ") == 0) {
    const std::size_t head_end = response.find("\r\n\r\n", at);
    if (head_end == std::string::npos) {
      break;
    }
    const std::string_view head = std::string_view(response).substr(at, head_end - at);
    // The store is a healthy local SQLite file, so the exception handler's 500 or 503
    // ({"error": ...}; /healthz's own 503 is a health document) means a bug.
    const std::string_view code = head.substr(9, 3);
    if (code == "500" || (code == "503" && response.compare(head_end + 4, 9, "{\"error\":") == 0)) {
      __builtin_trap();
    }
    if (head.find("X-Content-Type-Options: nosniff") == std::string_view::npos) {
      __builtin_trap(); // a response without the security headers
    }
    std::size_t length = 0;
    if (auto cl = head.find("Content-Length: "); cl != std::string_view::npos) {
      length = std::strtoull(head.data() + cl + 16, nullptr, 10);
    }
    at = head_end + 4 + length;
  }
  return 0;
}
