#pragma once
#include <string>
#include <string_view>

namespace nfl {

// Lowercase hex from a cryptographically seeded generator (ids, fencing tokens).
std::string random_hex(std::size_t n_chars);

// Ids name files and Redis keys: 1..128 chars of [A-Za-z0-9_.-], not starting with
// '.' or '-'. Returns an empty string when valid, else why not.
std::string id_problem(std::string_view id);
constexpr std::size_t k_max_id_length = 128;

// SHA-256 of bytes as lowercase hex.
std::string sha256_hex(std::string_view bytes);

} // namespace nfl
