#pragma once
// NFL standings: records, division ranks and playoff seeds with the league's
// tie-breaking procedures (docs/analytics-season.md lists the steps as implemented).
// Built for the simulator's inner loop: fixed-size arrays, no allocation, and the
// tie-breaker data (common games, strength of victory, ...) computed only when clubs
// are actually tied.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/season/league.hpp"

namespace nfl::analytics::season {

class SeasonTable;

// Fills in the points of games that were added with add_outcome() (the simulator
// draws margins only when a points-based tie-breaker step needs them).
class PointsSource {
public:
  virtual ~PointsSource() = default;
  virtual void add_points(SeasonTable& table) const = 0;
};

// One season's results as team-vs-team matrices: everything the tie-breakers need.
class SeasonTable {
public:
  void clear();
  // A game with its score.
  void add_game(int home, int away, int home_points, int away_points);
  // A game whose points are not known yet: sign > 0 home win, < 0 away win, 0 tie.
  void add_outcome(int home, int away, int sign);
  // Points of the add_outcome() games come from `source` when first needed.
  void set_points_source(const PointsSource* source) { m_points_source = source; }
  void add_points(int team, int opponent, int points) { m_points[team][opponent] += static_cast<std::int16_t>(points); }
  void ensure_points();

  int wins(int team, int opponent) const { return m_wins[team][opponent]; }
  int games(int team, int opponent) const { return m_games[team][opponent]; }
  // 2·wins + ties, so that percentages stay exact integers ratios.
  int half_points(int team, int opponent) const {
    return m_wins[team][opponent] + m_games[team][opponent] - m_wins[opponent][team];
  }
  int points(int team, int opponent) const { return m_points[team][opponent]; } // after ensure_points()
  int total_half_points(int team) const { return m_total_w2[team]; }
  int total_games(int team) const { return m_total_games[team]; }
  int total_wins(int team) const;
  int total_ties(int team) const;

private:
  std::array<std::array<std::uint8_t, k_teams>, k_teams> m_wins{};
  std::array<std::array<std::uint8_t, k_teams>, k_teams> m_games{};
  std::array<std::array<std::int16_t, k_teams>, k_teams> m_points{};
  std::array<std::int16_t, k_teams> m_total_w2{};
  std::array<std::int16_t, k_teams> m_total_games{};
  const PointsSource* m_points_source = nullptr;
};

struct Standings {
  std::array<std::uint8_t, k_teams> div_rank{}; // 1..4
  std::array<std::uint8_t, k_teams> seed{};     // 0: not in the playoffs
  std::array<std::array<std::int8_t, 7>, 2> by_seed{}; // [conference][seed-1] -> team, -1 unused
};

enum class TieStep : std::uint8_t {
  head_to_head,
  head_to_head_sweep,
  division_rank, // wild card: only the highest-ranked club of each division goes on
  division_record,
  common_games,
  conference_record,
  strength_of_victory,
  strength_of_schedule,
  conference_points_rank,
  league_points_rank,
  common_net_points,
  conference_net_points,
  net_points,
  coin_toss,
};
std::string_view to_string(TieStep step);

// One tie-breaker step that separated clubs (diagnostics and tests).
struct TieRecord {
  bool wild_card = false;  // else division
  std::vector<int> tied;   // the group the step was applied to
  TieStep step = TieStep::coin_toss;
  std::vector<int> kept;   // the clubs still alive after it
};

class StandingsCalculator {
public:
  // `playoff_teams` per conference (6 or 7); the coin toss draws from coin_seed.
  StandingsCalculator(int playoff_teams, std::uint64_t coin_seed);
  void set_coin_seed(std::uint64_t seed) {
    m_coin_seed = seed;
    m_coin_count = 0;
  }
  // Records every separating step into *log (null: no logging, the fast path).
  void set_log(std::vector<TieRecord>* log) { m_log = log; }

  void compute(SeasonTable& table, Standings& out);

private:
  struct Group {
    int n = 0;
    std::array<std::uint8_t, 16> t{};
    void push(int team) { t[n++] = static_cast<std::uint8_t>(team); }
    std::uint32_t mask() const;
  };
  struct Ratio {
    std::int64_t num = 0;
    std::int64_t den = 1;
  };
  enum class Mode { division, wild_card };

  int pick_best(Group g, Mode mode);
  bool apply(TieStep step, const Group& g, Mode mode, Group& kept);
  bool values(TieStep step, const Group& g, Mode mode, std::array<Ratio, 16>& v);
  Ratio record_against(int team, std::uint32_t opponents) const;
  int points_rank(int team, int first, int count);
  void log(Mode mode, const Group& before, TieStep step, const Group& after);
  Group top_by_pct(const Group& g) const;

  int m_playoff_teams;
  std::uint64_t m_coin_seed;
  std::uint64_t m_coin_count = 0;
  std::vector<TieRecord>* m_log = nullptr;
  SeasonTable* m_table = nullptr;
  Standings* m_out = nullptr;
};

} // namespace nfl::analytics::season
