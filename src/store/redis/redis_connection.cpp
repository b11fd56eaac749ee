#include "store/redis/redis_connection.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fmt/format.h>

#include "util/error.hpp"

namespace nfl::redis_detail {

namespace {

timeval to_timeval(int ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// Redis never speaks first on a request/reply connection, so an idle socket that is
// readable was closed by the server (restart, crash, idle timeout). Finding that out
// before sending turns "was my command run?" into a plain reconnect.
bool peer_closed(const redisContext& context) {
  pollfd p{context.fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) {
    return false;
  }
  char byte = 0;
  return (p.revents & (POLLHUP | POLLERR)) != 0 || ::recv(context.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

} // namespace

void ReplyDeleter::operator()(redisReply* reply) const noexcept {
  if (reply) {
    freeReplyObject(reply);
  }
}

void ContextDeleter::operator()(redisContext* context) const noexcept {
  if (context) {
    redisFree(context);
  }
}

std::string_view reply_text(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_STATUS || reply.type == REDIS_REPLY_ERROR) {
    return {reply.str, reply.len};
  }
  return {};
}

bool is_noscript(const redisReply& reply) {
  return reply.type == REDIS_REPLY_ERROR && starts_with(reply_text(reply), "NOSCRIPT");
}

Connection::Connection(RedisOptions options, int command_timeout_ms)
    : m_options(std::move(options)), m_command_timeout_ms(command_timeout_ms),
      m_endpoint(fmt::format("{}:{}", m_options.host, m_options.port)) {}

// The one place where a broken connection becomes an error: I/O errors, the server
// closing the socket and reply timeouts all mean "Redis is not answering".
void Connection::connection_failed(std::string_view what) {
  m_context.reset();
  m_last_error = std::string(what);
  throw StoreUnavailable(fmt::format("redis at {} unreachable: {}", m_endpoint, what));
}

// The one place where an error reply becomes an error type.
void Connection::check(const redisReply& reply) const {
  if (reply.type != REDIS_REPLY_ERROR) {
    return;
  }
  std::string_view text = reply_text(reply);
  if (starts_with(text, "OOM")) {
    throw StoreUnavailable(fmt::format(
        "redis at {} refused the write because it is out of memory (maxmemory reached with policy noeviction; "
        "raise maxmemory / REDIS_MAX_MEMORY or trim finished tasks): {}",
        m_endpoint, text));
  }
  if (starts_with(text, "NOAUTH") || starts_with(text, "WRONGPASS") || starts_with(text, "ERR AUTH")) {
    throw StoreUnavailable(
        fmt::format("redis at {} rejected the connection's authentication (check REDIS_PASSWORD): {}", m_endpoint, text));
  }
  if (starts_with(text, "MOVED ") || starts_with(text, "ASK ") || starts_with(text, "CROSSSLOT")) {
    throw InputError(fmt::format("redis at {} answered '{}': it is a Redis Cluster node; set REDIS_CLUSTER=auto or "
                                 "true and a REDIS_KEY_PREFIX with a hash tag such as {{nfl}}:",
                                 m_endpoint, text));
  }
  if (starts_with(text, "LOADING") || starts_with(text, "BUSY") || starts_with(text, "MASTERDOWN") ||
      starts_with(text, "TRYAGAIN") || starts_with(text, "CLUSTERDOWN") || starts_with(text, "READONLY") ||
      starts_with(text, "UNBLOCKED")) {
    throw StoreUnavailable(fmt::format("redis at {} is not ready: {}", m_endpoint, text));
  }
  throw InternalError(fmt::format("redis at {} answered with an error: {}", m_endpoint, text));
}

void Connection::ensure_connected() {
  if (m_context && !peer_closed(*m_context)) {
    return;
  }
  m_context.reset();
  Millis now = monotonic_ms();
  if (now < m_next_connect_ms) {
    throw NotSent(fmt::format("redis at {} unreachable: {} (next reconnect attempt in {} ms)", m_endpoint,
                                       m_last_error, m_next_connect_ms - now));
  }
  auto fail_attempt = [&](std::string what) {
    ++m_failed_connects;
    Millis delay = std::min(k_reconnect_max_ms, k_reconnect_initial_ms << std::min(m_failed_connects - 1, 10));
    m_next_connect_ms = monotonic_ms() + delay;
    m_context.reset();
    m_last_error = what;
  };
  Context context(redisConnectWithTimeout(m_options.host.c_str(), m_options.port,
                                          to_timeval(m_options.connect_timeout_ms)));
  if (!context || context->err) {
    std::string what = context ? context->errstr : "cannot allocate a redis context";
    fail_attempt(what);
    throw NotSent(fmt::format("redis at {} unreachable: {}", m_endpoint, what));
  }
  redisSetTimeout(context.get(), to_timeval(m_command_timeout_ms));
  m_context = std::move(context);

  std::vector<std::vector<std::string>> setup;
  if (!m_options.password.empty()) {
    // With a user name it is the Redis 6 ACL form; alone, the default user's password.
    setup.push_back(m_options.username.empty() ? std::vector<std::string>{"AUTH", m_options.password}
                                               : std::vector<std::string>{"AUTH", m_options.username,
                                                                          m_options.password});
  }
  if (m_options.db != 0) {
    setup.push_back({"SELECT", std::to_string(m_options.db)});
  }
  for (const auto& args : setup) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply reply(static_cast<redisReply*>(
        redisCommandArgv(m_context.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!reply) {
      std::string what = m_context->errstr;
      fail_attempt(what);
      throw NotSent(fmt::format("redis at {} unreachable: {}", m_endpoint, what));
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string what(reply_text(*reply));
      fail_attempt(what);
      if (args[0] == "AUTH") {
        throw StoreUnavailable(
            fmt::format("redis at {} rejected the password (check REDIS_USERNAME and REDIS_PASSWORD): {}",
                        m_endpoint, what));
      }
      throw StoreUnavailable(fmt::format("redis at {} refused SELECT {} (check REDIS_DB): {}", m_endpoint,
                                         m_options.db, what));
    }
  }
  m_failed_connects = 0;
  m_next_connect_ms = 0;
}

Reply Connection::command(const std::vector<std::string>& args) {
  auto replies = pipeline({args});
  return std::move(replies.front());
}

Reply Connection::command(const std::vector<std::string>& args, int timeout_ms) {
  auto replies = pipeline({args}, timeout_ms);
  return std::move(replies.front());
}

std::vector<Reply> Connection::pipeline(const std::vector<std::vector<std::string>>& commands, int timeout_ms) {
  if (timeout_ms <= 0 || timeout_ms == m_command_timeout_ms) {
    return pipeline(commands);
  }
  ensure_connected();
  redisSetTimeout(m_context.get(), to_timeval(timeout_ms));
  int saved = m_command_timeout_ms;
  m_command_timeout_ms = timeout_ms;
  try {
    auto replies = pipeline(commands);
    m_command_timeout_ms = saved;
    if (m_context) {
      redisSetTimeout(m_context.get(), to_timeval(saved));
    }
    return replies;
  } catch (...) {
    m_command_timeout_ms = saved;
    throw; // the context was dropped; a new one gets the normal timeout
  }
}

std::vector<Reply> Connection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  ensure_connected();
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& args : commands) {
    argv.clear();
    lens.clear();
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(m_context.get(), static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
      connection_failed(m_context->errstr);
    }
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(m_context.get(), &raw) != REDIS_OK || !raw) {
      std::string what = m_context->errstr;
      // hiredis reports a reply timeout as an I/O error with EAGAIN's text.
      if (m_context->err == REDIS_ERR_IO && what == std::strerror(EAGAIN)) {
        what = fmt::format("no reply within {} ms (timeout)", m_command_timeout_ms);
      }
      // Redis closes an unauthenticated connection that sends a large request (the
      // script load) right after its NOAUTH answer: that answer, not the reset, is
      // what the user must read.
      for (const auto& earlier : replies) {
        if (earlier && earlier->type == REDIS_REPLY_ERROR && starts_with(reply_text(*earlier), "NOAUTH")) {
          m_context.reset();
          check(*earlier);
        }
      }
      connection_failed(what);
    }
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

} // namespace nfl::redis_detail
