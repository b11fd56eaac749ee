#pragma once
// Real Prometheus text-format checks for a scrape: `promtool check metrics` (Debian
// `prometheus`) and `prometheus_client.parser` (Debian `python3-prometheus-client`),
// both in scripts/bootstrap.sh. Plus a small reader the tests use to look values up.
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "support/redis_server.hpp"

namespace nfl::test {

struct ToolResult {
  int rc = -1;
  std::string output;
};

inline ToolResult run_tool(const std::string& command, const std::filesystem::path& dir) {
  const auto out = dir / "tool_out.txt";
  const int status = std::system((command + " > " + out.string() + " 2>&1").c_str());
  std::stringstream text;
  text << std::ifstream(out).rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

// promtool lints too (names, HELP, _total on counters); any finding fails the check.
inline ToolResult promtool_check(const std::string& scrape, const std::filesystem::path& dir) {
  const auto file = dir / "promtool_scrape.txt";
  std::ofstream(file, std::ios::binary) << scrape;
  return run_tool("/usr/bin/promtool check metrics < " + file.string(), dir);
}

// Parses the whole scrape with prometheus_client and prints "name type" per family.
inline ToolResult python_parse(const std::string& scrape, const std::filesystem::path& dir) {
  const auto file = dir / "python_scrape.txt";
  std::ofstream(file, std::ios::binary) << scrape;
  const auto script = dir / "parse.py";
  std::ofstream(script) << R"py(import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    print(f.name, f.type, len(f.samples))
)py";
  return run_tool("/usr/bin/python3 " + script.string() + " " + file.string(), dir);
}

// Sample lines by series ("name{labels}" exactly as written) -> value.
inline std::map<std::string, double> samples_of(const std::string& scrape) {
  std::map<std::string, double> out;
  std::istringstream in(scrape);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

} // namespace nfl::test
