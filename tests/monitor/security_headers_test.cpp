// The dashboard's security headers, the page's Content-Security-Policy and the
// loopback Host check (docs/security.md, "Dashboard").
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>

#include "known_store.hpp"
#include "monitor/security_headers.hpp"
#include "monitor/server.hpp"

namespace nfl::monitor {
namespace {

class SecurityHeadersTest : public ::testing::Test {
protected:
  void SetUp() override {
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.data_dir = k.dir.path();
    options.clock = k.clock;
    server = std::make_unique<DashboardServer>(*k.store, options);
    port = server->bind();
    server->start();
    client = std::make_unique<httplib::Client>("127.0.0.1", port);
  }
  void TearDown() override { server->stop(); }

  test::KnownStore k;
  std::unique_ptr<DashboardServer> server;
  std::unique_ptr<httplib::Client> client;
  int port = 0;
};

void expect_common_headers(const httplib::Result& r, const std::string& path) {
  ASSERT_TRUE(r) << path;
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
  EXPECT_EQ(r->get_header_value("X-Frame-Options"), "DENY") << path;
  EXPECT_EQ(r->get_header_value("Referrer-Policy"), "no-referrer") << path;
  EXPECT_NE(r->get_header_value("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos) << path;
}

TEST_F(SecurityHeadersTest, EveryAnswerCarriesThemErrorsIncluded) {
  for (const char* path : {"/", "/api/status", "/api/tasks", "/metrics", "/healthz", "/chart.js",
                           "/api/tasks/no_such_task", "/api/tasks?limit=0", "/nowhere", "/report/latest"}) {
    auto r = client->Get(path);
    expect_common_headers(r, path);
    if (std::string(path) != "/chart.js") {
      EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store") << path;
    }
  }
  auto post = client->Post("/api/tasks/x/cancel", "", "text/plain");
  expect_common_headers(post, "POST cancel");
  EXPECT_EQ(post->status, 403);
  // Over the body limit: refused by the HTTP layer, still with the headers.
  auto big = client->Post("/api/tasks/x/cancel", std::string(64 * 1024, 'x'), "text/plain");
  expect_common_headers(big, "POST 64 KiB");
  EXPECT_EQ(big->status, 413);
}

TEST_F(SecurityHeadersTest, PagePolicyAllowsExactlyItsInlineCode) {
  auto r = client->Get("/");
  ASSERT_TRUE(r);
  const auto csp = r->get_header_value("Content-Security-Policy");
  EXPECT_EQ(csp, page_content_security_policy(dashboard_html()));
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self' 'sha256-"), std::string::npos) << csp;
  EXPECT_NE(csp.find("style-src 'sha256-"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  // The hash is of the block's exact text: one changed byte gives another policy.
  EXPECT_EQ(page_content_security_policy("<script>a</script>"),
            "default-src 'none'; script-src 'self' 'sha256-ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs='; style-src; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
}

TEST_F(SecurityHeadersTest, LoopbackServerRefusesForeignHostNames) {
  httplib::Headers rebound = {{"Host", "attacker.example:8050"}};
  auto r = client->Get("/api/status", rebound);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 421);
  expect_common_headers(r, "421");
  for (const char* host : {"localhost:8050", "127.0.0.1", "[::1]:8050", "localhost"}) {
    auto ok = client->Get("/api/status", httplib::Headers{{"Host", host}});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << host;
  }
  EXPECT_TRUE(host_header_allowed("anything.example", false)); // bound elsewhere: the token guards actions
  EXPECT_FALSE(host_header_allowed("127.0.0.1.nip.io", true));
  EXPECT_FALSE(host_header_allowed("[::1", true));
}

} // namespace
} // namespace nfl::monitor
