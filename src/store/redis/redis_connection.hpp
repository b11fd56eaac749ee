#pragma once
// One hiredis connection with RAII handles, the single place where hiredis failures
// become nfl error types, and reconnection with capped exponential backoff.
// Not thread-safe: the store guards each Connection with a mutex.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis/hiredis.h>

#include "store/store_factory.hpp"
#include "util/error.hpp"
#include "util/clock.hpp"

namespace nfl::redis_detail {

struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* context) const noexcept;
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

// Backoff between failed connection attempts: 100 ms doubling up to 5 s. The first
// attempt after a lost connection is immediate.
inline constexpr Millis k_reconnect_initial_ms = 100;
inline constexpr Millis k_reconnect_max_ms = 5000;

// StoreUnavailable raised before a command was sent (the connection could not be
// made): a retry cannot run the command twice. The cluster client retries these.
class NotSent : public StoreUnavailable {
public:
  using StoreUnavailable::StoreUnavailable;
};

class Connection {
public:
  // command_timeout_ms bounds every reply (a blocking BLPOP needs more than its block time).
  Connection(RedisOptions options, int command_timeout_ms);

  // Sends one command and returns its reply, error replies included (see check()).
  // Throws StoreUnavailable when Redis cannot be reached or the connection breaks.
  Reply command(const std::vector<std::string>& args);
  // The same with a longer reply timeout for this one command (a large batch script).
  Reply command(const std::vector<std::string>& args, int timeout_ms);
  // Sends all commands in one round trip; replies in order. Same errors as command().
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands);
  // The same with a longer reply timeout for this round trip (0: the normal one).
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands, int timeout_ms);

  // Throws the mapped error when `reply` is an error reply.
  void check(const redisReply& reply) const;

  const std::string& endpoint() const { return m_endpoint; }

private:
  void ensure_connected();
  [[noreturn]] void connection_failed(std::string_view what);

  RedisOptions m_options;
  int m_command_timeout_ms;
  std::string m_endpoint; // host:port, for messages
  Context m_context;
  int m_failed_connects = 0;
  Millis m_next_connect_ms = 0; // monotonic
  std::string m_last_error;
};

// True for the NOSCRIPT error reply (the script cache was flushed or the server restarted).
bool is_noscript(const redisReply& reply);

// The text of a string, status or error reply; empty for other types.
std::string_view reply_text(const redisReply& reply);

} // namespace nfl::redis_detail
