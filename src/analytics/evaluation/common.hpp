#pragma once
// Helpers shared by the evaluation task types (calibration, backtest, copula,
// reporting): strict config reading, small CSV tables, a fast seeded generator.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tasks/task_config.hpp"

namespace nfl::analytics::eval {

using Json = nlohmann::json;

// A CSV file as header plus rows of cells (plain comma separated; double quotes
// around a cell are honoured for the cells this project writes).
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Index of `column`; throws InputError naming the file and column when absent.
  std::size_t column(const std::string& name) const;
  std::optional<std::size_t> find_column(const std::string& name) const;
  std::string origin;
};
CsvTable read_csv_table(const std::filesystem::path& path);
CsvTable parse_csv_table(const std::string& text, const std::string& origin);
// Parses a cell as a double; empty or "NA" -> nullopt; anything else bad throws InputError.
std::optional<double> parse_cell_double(const std::string& cell, const std::string& where);

// Probability of the home team winning from the two American moneylines with the
// bookmaker's margin removed proportionally (q_home / (q_home + q_away)).
double american_implied(double moneyline);
double no_vig_home_probability(double home_moneyline, double away_moneyline);
// Decimal payout per unit staked, profit only (e.g. -150 -> 0.6667, +130 -> 1.3).
double american_profit_per_unit(double moneyline);

// xoshiro256** seeded through splitmix64: fast, reproducible across platforms
// (std::uniform_*_distribution are not), so results depend only on the seed.
class Rng {
public:
  explicit Rng(std::uint64_t seed);
  Rng(std::uint64_t seed, std::uint64_t stream); // independent stream per index
  std::uint64_t next();
  double uniform();                          // [0, 1)
  double uniform_open();                     // (0, 1)
  std::uint64_t below(std::uint64_t bound);  // [0, bound), Lemire's unbiased method
  double normal();                           // standard normal (Box-Muller, no cache)
  double chi_square(double dof);             // sum of squares for integer dof, Gamma otherwise

private:
  std::uint64_t m_s[4];
};

// Shortest round-trip text for a double in CSV output.
std::string format_double(double value);

} // namespace nfl::analytics::eval
