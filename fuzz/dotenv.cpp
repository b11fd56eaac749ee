// .env text -> Environment -> Config. Only InputError may escape; every key kept is a
// variable name (A-Z, 0-9, _).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const nfl::Environment env = nfl::parse_dotenv(text, "fuzz.env");
    for (const auto& [key, value] : env) {
      if (key.empty() || key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos) {
        __builtin_trap();
      }
    }
    (void)nfl::config_from_environment(env);
  } catch (const nfl::InputError&) {
  }
  return 0;
}
