#include "analytics/evaluation/common.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::analytics::eval {

namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

__extension__ typedef unsigned __int128 Uint128;

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

} // namespace

std::optional<std::size_t> CsvTable::find_column(const std::string& name) const {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) {
      return i;
    }
  }
  return std::nullopt;
}

std::size_t CsvTable::column(const std::string& name) const {
  auto i = find_column(name);
  if (!i) {
    throw InputError(fmt::format("{}: missing column '{}'", origin, name));
  }
  return *i;
}

namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(std::move(cell));
      cell.clear();
    } else if (c != '\r') {
      cell += c;
    }
  }
  cells.push_back(std::move(cell));
  return cells;
}

} // namespace

CsvTable parse_csv_table(const std::string& text, const std::string& origin) {
  CsvTable table;
  table.origin = origin;
  std::istringstream in(text);
  std::string line;
  bool first = true;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (first) {
      table.header = split_csv_line(line);
      first = false;
      continue;
    }
    if (line.empty() || line == "\r") {
      continue;
    }
    auto cells = split_csv_line(line);
    if (cells.size() != table.header.size()) {
      throw InputError(fmt::format("{}:{}: expected {} cells, got {}", origin, line_no, table.header.size(),
                                   cells.size()));
    }
    table.rows.push_back(std::move(cells));
  }
  if (first) {
    throw InputError(fmt::format("{}: empty file, expected a header line", origin));
  }
  return table;
}

CsvTable read_csv_table(const std::filesystem::path& path) {
  return parse_csv_table(read_file(path), path.string());
}

std::optional<double> parse_cell_double(const std::string& cell, const std::string& where) {
  if (cell.empty() || cell == "NA") {
    return std::nullopt;
  }
  double value = 0.0;
  const char* end = cell.data() + cell.size();
  auto [ptr, ec] = std::from_chars(cell.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    throw InputError(fmt::format("{}: '{}' is not a number", where, cell));
  }
  return value;
}

double american_implied(double moneyline) {
  if (moneyline == 0.0 || (moneyline > -100.0 && moneyline < 100.0)) {
    throw InputError(fmt::format("moneyline: {} is not valid American odds (expected <= -100 or >= 100)",
                                 moneyline));
  }
  return moneyline > 0 ? 100.0 / (moneyline + 100.0) : -moneyline / (-moneyline + 100.0);
}

double no_vig_home_probability(double home_moneyline, double away_moneyline) {
  const double qh = american_implied(home_moneyline);
  const double qa = american_implied(away_moneyline);
  return qh / (qh + qa);
}

double american_profit_per_unit(double moneyline) {
  american_implied(moneyline); // validates
  return moneyline > 0 ? moneyline / 100.0 : 100.0 / -moneyline;
}

Rng::Rng(std::uint64_t seed) : Rng(seed, 0) {}

Rng::Rng(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
  std::uint64_t y = stream;
  splitmix64(y);
  x += y;
  for (auto& s : m_s) {
    s = splitmix64(x);
  }
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(m_s[1] * 5, 7) * 9;
  const std::uint64_t t = m_s[1] << 17;
  m_s[2] ^= m_s[0];
  m_s[3] ^= m_s[1];
  m_s[1] ^= m_s[2];
  m_s[0] ^= m_s[3];
  m_s[2] ^= t;
  m_s[3] = rotl(m_s[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double Rng::uniform_open() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }

std::uint64_t Rng::below(std::uint64_t bound) {
  Uint128 m = static_cast<Uint128>(next()) * bound;
  auto low = static_cast<std::uint64_t>(m);
  if (low < bound) {
    const std::uint64_t threshold = -bound % bound;
    while (low < threshold) {
      m = static_cast<Uint128>(next()) * bound;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

double Rng::normal() {
  const double u1 = uniform_open();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double Rng::chi_square(double dof) {
  // Marsaglia-Tsang for Gamma(dof/2, 2); shape < 1 boosted by U^(1/shape).
  double shape = dof / 2.0;
  double boost = 1.0;
  if (shape < 1.0) {
    boost = std::pow(uniform_open(), 1.0 / shape);
    shape += 1.0;
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = 0.0;
    double v = 0.0;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open();
    if (u < 1.0 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) {
      return 2.0 * d * v * boost;
    }
  }
}

std::string format_double(double value) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, ptr);
}

} // namespace nfl::analytics::eval
