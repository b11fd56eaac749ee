#include <gtest/gtest.h>

#include "config/config.hpp"
#include "util/error.hpp"

using namespace nfl;

namespace {
std::string error_for(Environment env) {
  try {
    config_from_environment(env);
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}
} // namespace

TEST(Config, SeedDefaults) {
  Config c = config_from_environment({});
  EXPECT_EQ(c.machine_id, "auto");
  EXPECT_EQ(c.redis_host, "localhost");
  EXPECT_EQ(c.redis_port, 6379);
  EXPECT_EQ(c.sync_interval_s, 300);
  EXPECT_EQ(c.max_concurrent_tasks, 4);
  EXPECT_DOUBLE_EQ(c.task_timeout_hours, 6.0);
  EXPECT_TRUE(c.enable_caching);
  EXPECT_EQ(c.queue_backend, "sqlite");
}

TEST(Config, BadValuesNameVariableValueAndAccepted) {
  auto e = error_for({{"REDIS_PORT", "70000"}});
  EXPECT_NE(e.find("REDIS_PORT"), std::string::npos);
  EXPECT_NE(e.find("70000"), std::string::npos);
  EXPECT_NE(e.find("1 to 65535"), std::string::npos);
  EXPECT_NE(error_for({{"ENABLE_CACHING", "maybe"}}).find("true or false"), std::string::npos);
  EXPECT_NE(error_for({{"QUEUE_BACKEND", "mongo"}}).find("sqlite, redis"), std::string::npos);
  EXPECT_NE(error_for({{"MAX_CONCURRENT_TASKS", "0"}}).find("MAX_CONCURRENT_TASKS"), std::string::npos);
  EXPECT_NE(error_for({{"MAX_CONCURRENT_TASKS", "4x"}}).find("MAX_CONCURRENT_TASKS"), std::string::npos);
  EXPECT_NE(error_for({{"TASK_TIMEOUT_HOURS", "-1"}}).find("TASK_TIMEOUT_HOURS"), std::string::npos);
  EXPECT_NE(error_for({{"HARDWARE_PROFILE", "quantum"}}).find("gpu_high"), std::string::npos);
  EXPECT_NE(error_for({{"MACHINE_ID", "a/b"}}).find("MACHINE_ID"), std::string::npos);
  EXPECT_NE(error_for({{"DATA_DIR", "/tmp/x"}, {"STATE_DIR", "/tmp/x/state"}}).find("STATE_DIR"), std::string::npos);
}

TEST(Config, DotenvParsesAndReportsLine) {
  auto env = parse_dotenv("# comment\nexport REDIS_HOST=redis.local\nREDIS_PORT='6380'\n\nSYNC_ENABLED=true # on\n",
                          ".env");
  EXPECT_EQ(env.at("REDIS_HOST"), "redis.local");
  EXPECT_EQ(env.at("REDIS_PORT"), "6380");
  EXPECT_EQ(env.at("SYNC_ENABLED"), "true");
  try {
    parse_dotenv("A=1\nnot a line\n", "my.env");
    FAIL() << "accepted a malformed line";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("my.env:2:"), std::string::npos);
  }
}

TEST(Config, MemorySizes) {
  EXPECT_DOUBLE_EQ(parse_memory_gib("x", "12GB"), 12.0);
  EXPECT_DOUBLE_EQ(parse_memory_gib("x", "512MB"), 0.5);
  EXPECT_DOUBLE_EQ(parse_memory_gib("x", "8"), 8.0);
  EXPECT_THROW(parse_memory_gib("x", "-1GB"), InputError);
  EXPECT_THROW(parse_memory_gib("x", "lots"), InputError);
}

#include <fstream>
#include <sstream>

TEST(Config, CommittedEnvTemplateDocumentsEveryVariable) {
  std::ifstream in(std::string(NFL_SOURCE_DIR) + "/.env.template");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), env_template()) << "regenerate with: build/nfl-compute config --template > .env.template";
  // And the template itself parses and validates as a .env file.
  EXPECT_NO_THROW(config_from_environment(parse_dotenv(text.str(), ".env.template")));
}
