// REDIS_USERNAME: the store authenticates as a Redis 6+ ACL user (AUTH user pass)
// against a real redis-server, and a wrong password is a clear error.
#include <gtest/gtest.h>

#include "store/store_factory.hpp"
#include "support/redis_server.hpp"
#include "util/error.hpp"

namespace nfl {
namespace {

RedisOptions options_for(const test::RedisServer& server, const std::string& user, const std::string& password) {
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = server.port();
  o.username = user;
  o.password = password;
  o.cluster = RedisCluster::off;
  return o;
}

std::string error_of(const RedisOptions& o) {
  try {
    make_redis_store(o, StoreOptions{})->ping();
  } catch (const StoreUnavailable& e) {
    return e.what();
  }
  return "connected";
}

TEST(RedisAcl, AuthenticatesAsTheNamedUser) {
  test::RedisServer server;
  // redis-cli runs through a shell: quote what it would read as redirections or jobs.
  server.cli("ACL SETUSER nfl-worker on '>acl-pass-1234' '~*' '&*' '+@all'");
  // From here only the ACL user can work: the default user is switched off.
  server.cli("ACL SETUSER default off");

  auto store = make_redis_store(options_for(server, "nfl-worker", "acl-pass-1234"), StoreOptions{});
  Task t;
  t.id = "acl_task";
  t.task_type = "noop";
  normalise(t, 0);
  store->add(std::vector<Task>{t});
  ASSERT_TRUE(store->get("acl_task").has_value());

  const auto wrong = error_of(options_for(server, "nfl-worker", "not-the-password"));
  EXPECT_NE(wrong.find("REDIS_USERNAME and REDIS_PASSWORD"), std::string::npos) << wrong;
  EXPECT_EQ(wrong.find("not-the-password"), std::string::npos) << "the password must not appear: " << wrong;
  // The password alone authenticates as `default`, which is off.
  EXPECT_NE(error_of(options_for(server, "", "acl-pass-1234")), "connected");
}

} // namespace
} // namespace nfl
