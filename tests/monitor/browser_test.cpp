// The dashboard in real headless Chromium (Debian's chromium, installed by
// scripts/bootstrap.sh): the rendered DOM must show the store's numbers, and a
// progress bar must move when the task reports progress. Screenshots are kept in the
// build folder (monitor_dashboard*.png) as test artifacts.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "analytics/evaluation/report.hpp"
#include "known_store.hpp"
#include "monitor/server.hpp"

namespace nfl::monitor {
namespace {

constexpr const char* k_chromium = "/usr/bin/chromium";

std::string chromium(const std::filesystem::path& profile, const std::string& args) {
  const std::string cmd = std::string("timeout 90 ") + k_chromium +
                          " --headless --no-sandbox --disable-gpu --disable-background-networking"
                          " --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage"
                          " --user-data-dir=" + profile.string() + " " + args + " 2>/dev/null";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    return out;
  }
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) {
    out.append(buf, n);
  }
  ::pclose(p);
  return out;
}

std::string progress_of(const std::string& dom, const std::string& task_id) {
  const auto row = dom.find("data-task-id=\"" + task_id + "\"");
  if (row == std::string::npos) {
    return "";
  }
  const auto attr = dom.find("data-progress=\"", row);
  if (attr == std::string::npos) {
    return "";
  }
  const auto start = attr + 15;
  return dom.substr(start, dom.find('"', start) - start);
}

TEST(Browser, DashboardShowsTheStoreAndProgressMoves) {
  ASSERT_TRUE(std::filesystem::exists(k_chromium)) << "chromium is required (scripts/bootstrap.sh installs it)";
  test::KnownStore k;
  ServerOptions options;
  options.port = 0;
  options.clock = k.clock;
  options.chartjs = std::string(analytics::eval::embedded_chartjs());
  ASSERT_FALSE(options.chartjs.empty()) << "Chart.js was not embedded (libjs-chart.js)";
  DashboardServer server(*k.store, options);
  const int port = server.bind();
  server.start();
  const auto url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const auto profile = k.dir / "chromium-profile";

  auto dom = chromium(profile, "--virtual-time-budget=3000 --dump-dom " + url);
  ASSERT_NE(dom.find("data-rendered="), std::string::npos) << "the page never rendered /api/status:\n" << dom;
  EXPECT_NE(dom.find("data-charts=\"ready\""), std::string::npos) << "Chart.js charts were not created";
  EXPECT_NE(dom.find("id=\"count-completed\">6<"), std::string::npos);
  EXPECT_NE(dom.find("id=\"count-failed\">1<"), std::string::npos);
  EXPECT_NE(dom.find("id=\"count-running\">1<"), std::string::npos);
  EXPECT_NE(dom.find("id=\"count-pending\">1<"), std::string::npos);
  EXPECT_NE(dom.find("<tr data-queue=\"gpu:standard\"><td>gpu:standard</td><td class=\"n\">1</td><td class=\"n\">1</td>"
                     "<td class=\"n\">0</td></tr>"),
            std::string::npos);
  EXPECT_NE(dom.find("<tr data-queue=\"cpu:parallel\"><td>cpu:parallel</td><td class=\"n\">0</td><td class=\"n\">0</td>"
                     "<td class=\"n\">1</td></tr>"),
            std::string::npos);
  EXPECT_NE(dom.find("data-machine=\"box-a\""), std::string::npos);
  EXPECT_NE(dom.find("data-machine=\"box-b\""), std::string::npos);
  EXPECT_NE(dom.find("data-task-id=\"" + k.failed_id + "\""), std::string::npos);
  // The error text is shown as text, never as markup.
  EXPECT_NE(dom.find("boom: &lt;script&gt;alert(1)&lt;/script&gt; column 'x' missing"), std::string::npos);
  EXPECT_EQ(progress_of(dom, k.running_id), "40.0") << dom;

  k.store->renew(k.running_id, k.running_token, 600'000, 75.0, "step 4 of 5");
  dom = chromium(profile, "--virtual-time-budget=3000 --dump-dom " + url);
  EXPECT_EQ(progress_of(dom, k.running_id), "75.0");

  const auto shot = std::filesystem::current_path() / "monitor_dashboard.png";
  std::filesystem::remove(shot);
  chromium(profile, "--virtual-time-budget=3000 --window-size=1280,1800 --screenshot=" + shot.string() + " " + url);
  EXPECT_TRUE(std::filesystem::exists(shot) && std::filesystem::file_size(shot) > 10'000) << shot;
  server.stop();
}

} // namespace
} // namespace nfl::monitor
