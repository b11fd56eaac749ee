#pragma once
// The headers every dashboard response carries, and the Host check against DNS
// rebinding (docs/security.md, "Dashboard"). server.cpp installs both.
#include <string>
#include <string_view>

namespace httplib {
struct Request;
struct Response;
} // namespace httplib

namespace nfl::monitor {

// Content-Security-Policy for the dashboard page: its inline <script> and <style>
// blocks are allowed by their SHA-256, nothing else inline; scripts and API calls
// only from this origin; no framing.
std::string page_content_security_policy(std::string_view page_html);

// Sets CSP (per kind of answer), X-Content-Type-Options, X-Frame-Options,
// Referrer-Policy, Cross-Origin-*-Policy and Cache-Control: no-store (all but the
// static Chart.js).
void apply_security_headers(const httplib::Request& req, httplib::Response& res);

// A server bound to loopback answers only requests whose Host names loopback (a page
// on another site that rebinds its DNS name to 127.0.0.1 gets 421). Any Host is fine
// when bound elsewhere (the token guards actions there).
bool host_header_allowed(std::string_view host_header, bool bound_to_loopback);

} // namespace nfl::monitor
