// Static checks on the deployment files: shellcheck over every shell script in the
// repository, and the Dockerfile / redis.conf / compose properties the deployment
// relies on (hadolint is not packaged in Debian, so these are checked here).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>

#include "deploy_support.hpp"

using namespace nfl::test;
namespace fs = std::filesystem;

namespace {

const fs::path k_source{NFL_SOURCE_DIR};

bool is_shell_script(const fs::path& path) {
  if (path.extension() == ".sh") {
    return true;
  }
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  static const std::regex shebang(R"(^#!\s*(/usr)?/bin/(env\s+)?(ba|da)?sh\b.*)");
  return std::regex_match(first, shebang);
}

// Every script in the source tree, skipping build outputs and the data/state folders.
std::vector<std::string> shell_scripts() {
  std::vector<std::string> out;
  auto it = fs::recursive_directory_iterator(k_source);
  for (; it != fs::recursive_directory_iterator(); ++it) {
    const auto name = it->path().filename().string();
    if (it->is_directory()) {
      if (name.rfind("build", 0) == 0 || name == ".git" || name == "data" || name == "state" ||
          name == "node_modules" || name == "fixtures") {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (it->is_regular_file() && it->file_size() < 1'000'000 && is_shell_script(it->path())) {
      out.push_back(it->path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Dockerfile instructions with continuation lines joined and comments dropped.
std::vector<std::string> dockerfile_instructions() {
  std::ifstream in(k_source / "Dockerfile");
  std::vector<std::string> out;
  std::string line;
  std::string current;
  while (std::getline(in, line)) {
    if (current.empty() && (line.empty() || line[0] == '#')) {
      continue;
    }
    if (!line.empty() && line.back() == '\\') {
      current += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    current += line;
    out.push_back(current);
    current.clear();
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(ShellcheckTest, EveryShellScriptIsClean) {
  auto scripts = shell_scripts();
  ASSERT_NE(std::find(scripts.begin(), scripts.end(), (k_source / "docker" / "entrypoint.sh").string()),
            scripts.end());
  ASSERT_NE(std::find(scripts.begin(), scripts.end(), (k_source / "scripts" / "bootstrap.sh").string()),
            scripts.end());
  std::vector<std::string> args{"shellcheck", "--external-sources"};
  args.insert(args.end(), scripts.begin(), scripts.end());
  auto r = run_process(args, {});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(DockerfileLintTest, MultiStageBuildWithTheBinaryCopiedFromTheBuildStage) {
  auto ins = dockerfile_instructions();
  auto froms = std::count_if(ins.begin(), ins.end(), [](const auto& i) { return starts_with(i, "FROM "); });
  EXPECT_GE(froms, 2);
  EXPECT_TRUE(std::any_of(ins.begin(), ins.end(), [](const auto& i) { return starts_with(i, "COPY --from="); }));
  // Pinned base images: no implicit :latest.
  for (const auto& i : ins) {
    if (starts_with(i, "FROM ")) {
      EXPECT_NE(i.find(':'), std::string::npos) << i;
      EXPECT_EQ(i.find(":latest"), std::string::npos) << i;
    }
  }
}

TEST(DockerfileLintTest, RuntimeStageRunsAsANonRootUser) {
  auto ins = dockerfile_instructions();
  std::string user;
  for (const auto& i : ins) {
    if (starts_with(i, "FROM ")) {
      user.clear(); // USER does not carry across stages
    } else if (starts_with(i, "USER ")) {
      user = i.substr(5);
    }
  }
  ASSERT_FALSE(user.empty()) << "the final stage has no USER";
  EXPECT_NE(user, "root");
  EXPECT_NE(user, "0");
  EXPECT_FALSE(starts_with(user, "0:")) << user;
}

TEST(DockerfileLintTest, HealthcheckUsesNflComputeHealth) {
  auto ins = dockerfile_instructions();
  auto it = std::find_if(ins.begin(), ins.end(), [](const auto& i) { return starts_with(i, "HEALTHCHECK "); });
  ASSERT_NE(it, ins.end());
  EXPECT_TRUE(std::regex_search(*it, std::regex(R"(CMD\s+\[\s*"nfl-compute"\s*,\s*"health"\s*\])"))) << *it;
}

TEST(DockerfileLintTest, NoPipedDownloadsAndAptListsCleaned) {
  static const std::regex piped(R"((curl|wget)[^|;&]*\|\s*(sudo\s+)?(ba|da)?sh)");
  for (const auto& i : dockerfile_instructions()) {
    EXPECT_FALSE(std::regex_search(i, piped)) << i;
    EXPECT_EQ(i.find("ADD http"), std::string::npos) << i;
    if (starts_with(i, "RUN ") && i.find("apt-get install") != std::string::npos) {
      EXPECT_NE(i.find("apt-get update"), std::string::npos) << "update and install in one layer: " << i;
      EXPECT_NE(i.find("rm -rf /var/lib/apt/lists"), std::string::npos) << i;
    }
  }
}

TEST(DockerfileLintTest, EntrypointForwardsSignalsThroughTini) {
  auto ins = dockerfile_instructions();
  auto it = std::find_if(ins.begin(), ins.end(), [](const auto& i) { return starts_with(i, "ENTRYPOINT "); });
  ASSERT_NE(it, ins.end());
  EXPECT_NE(it->find("tini"), std::string::npos) << *it;
  EXPECT_NE(it->find('['), std::string::npos) << "exec form, so signals reach tini: " << *it;
}

TEST(RedisConfLintTest, QueueSafeSettings) {
  auto text = read_text(k_source / "docker" / "redis.conf");
  auto has = [&](const std::string& line) {
    return std::regex_search(text, std::regex("(^|\\n)" + line + "\\s*(\\n|$)"));
  };
  EXPECT_TRUE(has("maxmemory-policy noeviction"));
  EXPECT_TRUE(has("appendonly yes"));
  EXPECT_TRUE(has("appendfsync everysec"));
  EXPECT_TRUE(has("protected-mode yes"));
  EXPECT_TRUE(std::regex_search(text, std::regex(R"((^|\n)bind 127\.0\.0\.1\b)")));
  EXPECT_FALSE(std::regex_search(text, std::regex(R"((^|\n)bind[^\n]*0\.0\.0\.0)")));
}

TEST(ComposeLintTest, SeedServiceWithGracefulStop) {
  auto text = read_text(k_source / "docker-compose.yml");
  EXPECT_NE(text.find("  nfl-analytics:"), std::string::npos);
  EXPECT_NE(text.find("restart: unless-stopped"), std::string::npos);
  EXPECT_NE(text.find("stop_grace_period:"), std::string::npos);
  EXPECT_NE(text.find(":/data"), std::string::npos);
  auto gpu = read_text(k_source / "docker-compose.gpu.yml");
  EXPECT_NE(gpu.find("driver: nvidia"), std::string::npos);
}

} // namespace
