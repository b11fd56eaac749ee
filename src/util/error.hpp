#pragma once
// Two tiers of errors (after ccache): exceptions for what the program reports to a
// person, and explicit result codes in the store/I/O layers where callers branch.
#include <stdexcept>
#include <string>

namespace nfl {

// Invalid input from a person or a file: bad flag, env value, task JSON, CSV row.
// The message names the field and what was expected. CLI maps it to exit code 2.
class InputError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// The backend could not be reached or refused the operation (connection lost,
// database locked past the busy timeout, Redis OOM). Callers may retry with backoff.
class StoreUnavailable : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A bug or an impossible state found at run time (e.g. a corrupt record).
class InternalError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace nfl
