// The security-related settings: REDIS_USERNAME and EXEC_ALLOWED.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "util/error.hpp"

namespace nfl {
namespace {

std::string error_for(const Environment& env) {
  try {
    config_from_environment(env);
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(SecurityConfig, RedisUsername) {
  EXPECT_EQ(config_from_environment({}).redis_username, "");
  EXPECT_EQ(config_from_environment({{"REDIS_USERNAME", "nfl-worker"}}).redis_username, "nfl-worker");
  const auto e = error_for({{"REDIS_USERNAME", "two words"}});
  EXPECT_NE(e.find("REDIS_USERNAME"), std::string::npos) << e;
  EXPECT_NE(e.find("without spaces"), std::string::npos) << e;
}

TEST(SecurityConfig, ExecAllowedIsAListOfAbsolutePaths) {
  EXPECT_TRUE(config_from_environment({}).exec_allowed.empty());
  EXPECT_TRUE(config_from_environment({{"EXEC_ALLOWED", ""}}).exec_allowed.empty());
  EXPECT_EQ(config_from_environment({{"EXEC_ALLOWED", "/usr/bin/python3: /opt/nfl/bin/model"}}).exec_allowed,
            (std::vector<std::string>{"/usr/bin/python3", "/opt/nfl/bin/model"}));
  for (const char* bad : {"python3", "/usr/bin/python3:", "/a::/b", "bin/model"}) {
    const auto e = error_for({{"EXEC_ALLOWED", bad}});
    EXPECT_NE(e.find("EXEC_ALLOWED"), std::string::npos) << bad << ": " << e;
    EXPECT_NE(e.find("absolute program paths"), std::string::npos) << bad << ": " << e;
  }
}

TEST(SecurityConfig, TemplateDocumentsThem) {
  const auto text = env_template();
  EXPECT_NE(text.find("\nREDIS_USERNAME=\n"), std::string::npos);
  EXPECT_NE(text.find("\nEXEC_ALLOWED=\n"), std::string::npos);
  EXPECT_NE(text.find("exec disabled in production"), std::string::npos);
}

} // namespace
} // namespace nfl
