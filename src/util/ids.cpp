#include "util/ids.hpp"

#include <array>
#include <random>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace nfl {

std::string random_hex(std::size_t n_chars) {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out(n_chars, '0');
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < n_chars; ++i) {
    if (i % 16 == 0) bits = rng();
    out[i] = k_digits[bits & 0xF];
    bits >>= 4;
  }
  return out;
}

std::string id_problem(std::string_view id) {
  if (id.empty()) return "must not be empty";
  if (id.size() > k_max_id_length) return fmt::format("is {} characters; at most {} allowed", id.size(), k_max_id_length);
  if (id.front() == '.' || id.front() == '-') return "must not start with '.' or '-'";
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return fmt::format("contains '{}'; only letters, digits, '_', '-' and '.' are allowed", c);
  }
  return {};
}

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

} // namespace nfl
