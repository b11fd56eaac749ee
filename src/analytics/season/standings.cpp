#include "analytics/season/standings.hpp"

#include <algorithm>
#include <bit>

#include "util/error.hpp"

namespace nfl::analytics::season {

namespace {

constexpr std::uint32_t bit(int team) { return std::uint32_t{1} << team; }
constexpr std::uint32_t division_mask(int team) { return std::uint32_t{0xF} << (division_of(team) * 4); }
constexpr std::uint32_t conference_mask(int team) { return std::uint32_t{0xFFFF} << (conference_of(team) * 16); }

// The steps in the order the NFL applies them. Net touchdowns (a step before the
// coin toss) is left out: games.csv has no touchdown counts.
constexpr std::array k_division_steps = {
    TieStep::head_to_head,         TieStep::division_record,        TieStep::common_games,
    TieStep::conference_record,    TieStep::strength_of_victory,    TieStep::strength_of_schedule,
    TieStep::conference_points_rank, TieStep::league_points_rank,   TieStep::common_net_points,
    TieStep::net_points,           TieStep::coin_toss,
};
constexpr std::array k_wild_card_two_steps = {
    TieStep::head_to_head,           TieStep::conference_record,  TieStep::common_games,
    TieStep::strength_of_victory,    TieStep::strength_of_schedule, TieStep::conference_points_rank,
    TieStep::league_points_rank,     TieStep::conference_net_points, TieStep::net_points,
    TieStep::coin_toss,
};
constexpr std::array k_wild_card_three_steps = {
    TieStep::head_to_head_sweep,     TieStep::conference_record,  TieStep::common_games,
    TieStep::strength_of_victory,    TieStep::strength_of_schedule, TieStep::conference_points_rank,
    TieStep::league_points_rank,     TieStep::conference_net_points, TieStep::net_points,
    TieStep::coin_toss,
};

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

} // namespace

std::string_view to_string(TieStep step) {
  switch (step) {
  case TieStep::head_to_head: return "head_to_head";
  case TieStep::head_to_head_sweep: return "head_to_head_sweep";
  case TieStep::division_rank: return "division_rank";
  case TieStep::division_record: return "division_record";
  case TieStep::common_games: return "common_games";
  case TieStep::conference_record: return "conference_record";
  case TieStep::strength_of_victory: return "strength_of_victory";
  case TieStep::strength_of_schedule: return "strength_of_schedule";
  case TieStep::conference_points_rank: return "conference_points_rank";
  case TieStep::league_points_rank: return "league_points_rank";
  case TieStep::common_net_points: return "common_net_points";
  case TieStep::conference_net_points: return "conference_net_points";
  case TieStep::net_points: return "net_points";
  case TieStep::coin_toss: return "coin_toss";
  }
  return "unknown";
}

// ---------------------------------------------------------------- SeasonTable

void SeasonTable::clear() { *this = SeasonTable{}; }

void SeasonTable::add_game(int home, int away, int home_points, int away_points) {
  add_outcome(home, away, home_points - away_points);
  m_points[home][away] += static_cast<std::int16_t>(home_points);
  m_points[away][home] += static_cast<std::int16_t>(away_points);
}

void SeasonTable::add_outcome(int home, int away, int sign) {
  ++m_games[home][away];
  ++m_games[away][home];
  ++m_total_games[home];
  ++m_total_games[away];
  if (sign > 0) {
    ++m_wins[home][away];
    m_total_w2[home] += 2;
  } else if (sign < 0) {
    ++m_wins[away][home];
    m_total_w2[away] += 2;
  } else {
    ++m_total_w2[home];
    ++m_total_w2[away];
  }
}

void SeasonTable::ensure_points() {
  if (m_points_source != nullptr) {
    const PointsSource* source = m_points_source;
    m_points_source = nullptr;
    source->add_points(*this);
  }
}

int SeasonTable::total_wins(int team) const {
  int w = 0;
  for (int o = 0; o < k_teams; ++o) {
    w += m_wins[team][o];
  }
  return w;
}

int SeasonTable::total_ties(int team) const { return m_total_w2[team] - 2 * total_wins(team); }

// ---------------------------------------------------------------- StandingsCalculator

StandingsCalculator::StandingsCalculator(int playoff_teams, std::uint64_t coin_seed)
    : m_playoff_teams(playoff_teams), m_coin_seed(coin_seed) {
  if (playoff_teams < 4 || playoff_teams > 7) {
    throw InternalError("StandingsCalculator: playoff_teams must be 4..7");
  }
}

std::uint32_t StandingsCalculator::Group::mask() const {
  std::uint32_t m = 0;
  for (int i = 0; i < n; ++i) {
    m |= bit(t[i]);
  }
  return m;
}

StandingsCalculator::Ratio StandingsCalculator::record_against(int team, std::uint32_t opponents) const {
  Ratio r{0, 0};
  while (opponents != 0) {
    const int o = std::countr_zero(opponents);
    opponents &= opponents - 1;
    r.num += m_table->half_points(team, o);
    r.den += 2 * m_table->games(team, o);
  }
  return r;
}

int StandingsCalculator::points_rank(int team, int first, int count) {
  // Rank 1 = most points scored / fewest allowed; equal totals share the better rank.
  std::array<int, k_teams> scored{};
  std::array<int, k_teams> allowed{};
  for (int a = first; a < first + count; ++a) {
    for (int o = 0; o < k_teams; ++o) {
      scored[a] += m_table->points(a, o);
      allowed[a] += m_table->points(o, a);
    }
  }
  int rank_scored = 1;
  int rank_allowed = 1;
  for (int a = first; a < first + count; ++a) {
    rank_scored += scored[a] > scored[team] ? 1 : 0;
    rank_allowed += allowed[a] < allowed[team] ? 1 : 0;
  }
  return rank_scored + rank_allowed;
}

bool StandingsCalculator::values(TieStep step, const Group& g, Mode mode, std::array<Ratio, 16>& v) {
  const std::uint32_t group = g.mask();
  const auto opponents_of = [this](int team) {
    std::uint32_t m = 0;
    for (int o = 0; o < k_teams; ++o) {
      m |= m_table->games(team, o) > 0 ? bit(o) : 0;
    }
    return m;
  };
  const auto common_opponents = [&] {
    std::uint32_t common = ~std::uint32_t{0};
    for (int i = 0; i < g.n; ++i) {
      common &= opponents_of(g.t[i]);
    }
    return common & ~group;
  };
  const auto net_against = [this](int team, std::uint32_t opponents) {
    std::int64_t net = 0;
    while (opponents != 0) {
      const int o = std::countr_zero(opponents);
      opponents &= opponents - 1;
      net += m_table->points(team, o) - m_table->points(o, team);
    }
    return net;
  };

  switch (step) {
  case TieStep::head_to_head:
    for (int i = 0; i < g.n; ++i) {
      v[i] = record_against(g.t[i], group & ~bit(g.t[i]));
      if (v[i].den == 0) {
        return false; // they have not all met
      }
    }
    return true;
  case TieStep::division_record:
    for (int i = 0; i < g.n; ++i) {
      v[i] = record_against(g.t[i], division_mask(g.t[i]) & ~bit(g.t[i]));
    }
    return true;
  case TieStep::conference_record:
    for (int i = 0; i < g.n; ++i) {
      v[i] = record_against(g.t[i], conference_mask(g.t[i]) & ~bit(g.t[i]));
    }
    return true;
  case TieStep::common_games: {
    const std::uint32_t common = common_opponents();
    if (common == 0) {
      return false;
    }
    for (int i = 0; i < g.n; ++i) {
      v[i] = record_against(g.t[i], common);
      // Wild card: only with at least four games against common opponents each.
      if (v[i].den == 0 || (mode == Mode::wild_card && v[i].den < 2 * 4)) {
        return false;
      }
    }
    return true;
  }
  case TieStep::strength_of_victory:
  case TieStep::strength_of_schedule:
    for (int i = 0; i < g.n; ++i) {
      Ratio r{0, 0};
      for (int o = 0; o < k_teams; ++o) {
        const int times = step == TieStep::strength_of_victory ? m_table->wins(g.t[i], o) : m_table->games(g.t[i], o);
        r.num += static_cast<std::int64_t>(times) * m_table->total_half_points(o);
        r.den += static_cast<std::int64_t>(times) * 2 * m_table->total_games(o);
      }
      v[i] = r.den == 0 ? Ratio{0, 1} : r;
    }
    return true;
  case TieStep::conference_points_rank:
  case TieStep::league_points_rank:
    m_table->ensure_points();
    for (int i = 0; i < g.n; ++i) {
      const int first = step == TieStep::league_points_rank ? 0 : conference_of(g.t[i]) * 16;
      const int count = step == TieStep::league_points_rank ? k_teams : 16;
      v[i] = Ratio{-points_rank(g.t[i], first, count), 1};
    }
    return true;
  case TieStep::common_net_points: {
    const std::uint32_t common = common_opponents();
    if (common == 0) {
      return false;
    }
    m_table->ensure_points();
    for (int i = 0; i < g.n; ++i) {
      v[i] = Ratio{net_against(g.t[i], common), 1};
    }
    return true;
  }
  case TieStep::conference_net_points:
  case TieStep::net_points:
    m_table->ensure_points();
    for (int i = 0; i < g.n; ++i) {
      const std::uint32_t opp = step == TieStep::net_points ? ~std::uint32_t{0} : conference_mask(g.t[i]);
      v[i] = Ratio{net_against(g.t[i], opp & ~bit(g.t[i])), 1};
    }
    return true;
  case TieStep::head_to_head_sweep:
  case TieStep::division_rank:
  case TieStep::coin_toss:
    break;
  }
  return false;
}

bool StandingsCalculator::apply(TieStep step, const Group& g, Mode mode, Group& kept) {
  kept.n = 0;
  if (step == TieStep::coin_toss) {
    const std::uint64_t draw = splitmix64(m_coin_seed ^ splitmix64(++m_coin_count));
    kept.push(g.t[draw % static_cast<std::uint64_t>(g.n)]);
    return true;
  }
  if (step == TieStep::head_to_head_sweep) {
    // Applies only when one club beat each of the others (it advances) or lost to
    // each of the others (it drops out).
    for (int i = 0; i < g.n; ++i) {
      bool beat_all = true;
      for (int j = 0; j < g.n && beat_all; ++j) {
        if (i != j) {
          const int a = g.t[i];
          const int b = g.t[j];
          beat_all = m_table->games(a, b) > 0 && m_table->wins(a, b) == m_table->games(a, b);
        }
      }
      if (beat_all) {
        kept.push(g.t[i]);
        return true;
      }
    }
    for (int i = 0; i < g.n; ++i) {
      bool lost_all = true;
      for (int j = 0; j < g.n && lost_all; ++j) {
        if (i != j) {
          const int a = g.t[i];
          const int b = g.t[j];
          lost_all = m_table->games(a, b) > 0 && m_table->wins(b, a) == m_table->games(a, b);
        }
      }
      if (lost_all) {
        for (int j = 0; j < g.n; ++j) {
          if (j != i) {
            kept.push(g.t[j]);
          }
        }
        return true;
      }
    }
    return false;
  }
  std::array<Ratio, 16> v;
  if (!values(step, g, mode, v)) {
    return false;
  }
  // Exact comparisons of ratios by cross-multiplication (no floating-point ties).
  const auto less = [](const Ratio& a, const Ratio& b) { return a.num * b.den < b.num * a.den; };
  Ratio best = v[0];
  for (int i = 1; i < g.n; ++i) {
    if (less(best, v[i])) {
      best = v[i];
    }
  }
  for (int i = 0; i < g.n; ++i) {
    if (!less(v[i], best)) {
      kept.push(g.t[i]);
    }
  }
  return true;
}

void StandingsCalculator::log(Mode mode, const Group& before, TieStep step, const Group& after) {
  if (m_log == nullptr) {
    return;
  }
  TieRecord r;
  r.wild_card = mode == Mode::wild_card;
  r.step = step;
  r.tied.assign(before.t.begin(), before.t.begin() + before.n);
  r.kept.assign(after.t.begin(), after.t.begin() + after.n);
  m_log->push_back(std::move(r));
}

int StandingsCalculator::pick_best(Group g, Mode mode) {
  // Only one club advances per application; whenever a step removes clubs the
  // survivors start again at step 1 (of the two-club format when two are left).
  while (g.n > 1) {
    if (mode == Mode::wild_card) {
      Group top;
      for (int i = 0; i < g.n; ++i) {
        bool highest = true;
        for (int j = 0; j < g.n; ++j) {
          highest = highest && !(division_of(g.t[j]) == division_of(g.t[i]) &&
                                 m_out->div_rank[g.t[j]] < m_out->div_rank[g.t[i]]);
        }
        if (highest) {
          top.push(g.t[i]);
        }
      }
      if (top.n < g.n) {
        log(mode, g, TieStep::division_rank, top);
        g = top;
        continue;
      }
    }
    const TieStep* steps = nullptr;
    std::size_t count = 0;
    if (mode == Mode::division) {
      steps = k_division_steps.data();
      count = k_division_steps.size();
    } else if (g.n == 2) {
      steps = k_wild_card_two_steps.data();
      count = k_wild_card_two_steps.size();
    } else {
      steps = k_wild_card_three_steps.data();
      count = k_wild_card_three_steps.size();
    }
    for (std::size_t s = 0; s < count; ++s) {
      Group kept;
      if (apply(steps[s], g, mode, kept) && kept.n < g.n) {
        log(mode, g, steps[s], kept);
        g = kept;
        break;
      }
    }
  }
  return g.t[0];
}

StandingsCalculator::Group StandingsCalculator::top_by_pct(const Group& g) const {
  // pct = half_points / (2·games); compare a/b against c/d as a·d vs c·b.
  const auto num = [this](int t) { return m_table->total_half_points(t); };
  const auto den = [this](int t) { return std::max(1, 2 * m_table->total_games(t)); };
  int best = g.t[0];
  for (int i = 1; i < g.n; ++i) {
    if (num(g.t[i]) * den(best) > num(best) * den(g.t[i])) {
      best = g.t[i];
    }
  }
  Group top;
  for (int i = 0; i < g.n; ++i) {
    if (num(g.t[i]) * den(best) == num(best) * den(g.t[i])) {
      top.push(g.t[i]);
    }
  }
  return top;
}

void StandingsCalculator::compute(SeasonTable& table, Standings& out) {
  m_table = &table;
  m_out = &out;
  out.seed.fill(0);
  for (auto& c : out.by_seed) {
    c.fill(-1);
  }
  const auto without = [](const Group& g, int team) {
    Group rest;
    for (int i = 0; i < g.n; ++i) {
      if (g.t[i] != team) {
        rest.push(g.t[i]);
      }
    }
    return rest;
  };
  const auto rank_in = [&](Group& remaining, Mode mode) {
    const Group top = top_by_pct(remaining);
    const int best = top.n == 1 ? top.t[0] : pick_best(top, mode);
    remaining = without(remaining, best);
    return best;
  };

  for (int d = 0; d < k_divisions; ++d) {
    Group remaining;
    for (int s = 0; s < 4; ++s) {
      remaining.push(d * 4 + s);
    }
    for (int rank = 1; rank <= 4; ++rank) {
      out.div_rank[rank_in(remaining, Mode::division)] = static_cast<std::uint8_t>(rank);
    }
  }
  for (int c = 0; c < 2; ++c) {
    Group winners;
    Group others;
    for (int t = c * 16; t < c * 16 + 16; ++t) {
      (out.div_rank[t] == 1 ? winners : others).push(t);
    }
    for (int seed = 1; seed <= m_playoff_teams; ++seed) {
      // Division winners take seeds 1-4, ordered by the wild-card tie-breakers.
      const int team = seed <= 4 ? rank_in(winners, Mode::wild_card) : rank_in(others, Mode::wild_card);
      out.seed[team] = static_cast<std::uint8_t>(seed);
      out.by_seed[c][seed - 1] = static_cast<std::int8_t>(team);
    }
  }
  m_table = nullptr;
  m_out = nullptr;
}

} // namespace nfl::analytics::season
