#include "monitor/security_headers.hpp"

#include <array>

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/evp.h>

#include "monitor/server.hpp"

namespace nfl::monitor {

namespace {

std::string sha256_base64(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> out{};
  const int n = EVP_EncodeBlock(out.data(), md.data(), static_cast<int>(len));
  return {reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n)};
}

// 'sha256-...' for every `<tag>` block without attributes (inline code) in the page.
std::string inline_hashes(std::string_view html, std::string_view tag) {
  const std::string open = fmt::format("<{}>", tag);
  const std::string close = fmt::format("</{}>", tag);
  std::string sources;
  for (auto at = html.find(open); at != std::string_view::npos; at = html.find(open, at + 1)) {
    const auto begin = at + open.size();
    const auto end = html.find(close, begin);
    if (end == std::string_view::npos) {
      break;
    }
    sources += fmt::format(" 'sha256-{}'", sha256_base64(html.substr(begin, end - begin)));
  }
  return sources;
}

const std::string& page_policy() {
  static const std::string k_policy = page_content_security_policy(dashboard_html());
  return k_policy;
}

} // namespace

std::string page_content_security_policy(std::string_view page_html) {
  return fmt::format("default-src 'none'; script-src 'self'{}; style-src{}; connect-src 'self'; img-src 'self' data:; "
                     "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                     inline_hashes(page_html, "script"), inline_hashes(page_html, "style"));
}

void apply_security_headers(const httplib::Request& req, httplib::Response& res) {
  std::string policy = "default-src 'none'; frame-ancestors 'none'";
  if (req.path == "/" && res.status == 200) {
    policy = page_policy();
  } else if (req.path == "/report/latest" && res.status == 200) {
    // A report is a task's output with its own inline scripts: it runs sandboxed, in
    // an opaque origin that can neither call the API nor reach the network.
    policy = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
             "img-src data:; frame-ancestors 'none'";
  }
  res.set_header("Content-Security-Policy", policy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Cross-Origin-Resource-Policy", "same-origin");
  if (req.path != "/chart.js" && !res.has_header("Cache-Control")) {
    res.set_header("Cache-Control", "no-store");
  }
}

bool host_header_allowed(std::string_view host_header, bool bound_to_loopback) {
  if (!bound_to_loopback) {
    return true;
  }
  std::string_view host = host_header;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    host = host.substr(1, close - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  // No Host at all (HTTP/1.0 tools) cannot be a browser on another site.
  return host_header.empty() || is_loopback_host(std::string(host));
}

} // namespace nfl::monitor
