#pragma once
// Bounds on JSON that comes from outside the process (task files, a program's output,
// snapshots). nlohmann's parser is iterative, but copying, dump() and comparison
// recurse, so a deeply nested document would overflow the stack long after it was
// accepted. Every reader of outside JSON parses through here.
#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nfl {

// Deeper than any task config, result or snapshot record we write (they are < 10).
inline constexpr std::size_t k_max_json_depth = 64;

// Parses `text` like nlohmann::json::parse (a syntax error throws its parse_error),
// but first rejects nesting deeper than `max_depth` with InputError "<what>: ...".
nlohmann::json parse_json_bounded(std::string_view text, std::string_view what,
                                  std::size_t max_depth = k_max_json_depth);

// Nesting depth of `text` (scalar 0, [] 1, [{}] 2), counted outside strings, without
// parsing; stops counting once `limit` is exceeded.
std::size_t json_text_depth(std::string_view text, std::size_t limit);

// True when `text` is well-formed UTF-8 (what nlohmann's dump() requires of strings):
// text from files and programs is checked before it goes into a JSON result.
bool valid_utf8(std::string_view text);

// Nesting depth of a document, computed without recursion.
std::size_t json_depth(const nlohmann::json& j);

} // namespace nfl
