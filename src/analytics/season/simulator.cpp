#include "analytics/season/simulator.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "analytics/gpu/season_draws.hpp"
#include "analytics/season/philox.hpp"
#include "analytics/season/standings.hpp"
#include "tasks/registry.hpp"
#include "util/error.hpp"

#include "analytics/normal.hpp"

namespace nfl::analytics::season {

namespace {

// Half-width (points) of the band of drawn margins that counts as a tie. With
// sigma ≈ 13.5 it gives ties in about 0.25 % of games, the rate of 2002–2025.
constexpr double k_tie_band = 0.045;
constexpr std::int64_t k_chunk = 256;
constexpr int k_max_playoff_games = 16;


struct SimGame {
  std::uint8_t home = 0;
  std::uint8_t away = 0;
  double p_away = 0.5; // u < p_away: away win
  double p_home = 0.5; // u >= p_home: home win; in between: tie
  double spread = 0.0;
  double total = 44.0;
};

struct ActualPlayoffGame {
  int home;
  int away;
  int winner;
};

struct Prepared {
  SeasonTable base;
  std::vector<SimGame> games;
  std::array<std::array<double, k_teams>, k_teams> p_home_site{}; // P(home wins), playoff game at home
  std::array<std::array<double, k_teams>, k_teams> p_neutral{};
  std::vector<ActualPlayoffGame> actual_playoffs;
  int playoff_teams = 7;
  double sigma = 13.5;
  std::array<double, k_teams> current_w2{};
};

Prepared prepare(const SimulationModel& m) {
  if (!(m.sigma > 0.0)) {
    throw InputError("sigma: must be greater than 0");
  }
  Prepared p;
  p.playoff_teams = m.schedule.league.playoff_teams;
  p.sigma = m.sigma;
  for (const auto& g : m.schedule.regular) {
    // An unplayed game before the start week (postponed) is simulated too.
    if (g.played() && (g.week < m.start_week || m.keep_all_played)) {
      p.base.add_game(g.home, g.away, *g.home_score, *g.away_score);
      continue;
    }
    SimGame s;
    s.home = static_cast<std::uint8_t>(g.home);
    s.away = static_cast<std::uint8_t>(g.away);
    if (m.use_spread_lines && g.spread_line) {
      s.spread = *g.spread_line;
    } else {
      s.spread = m.ratings.rating[g.home] - m.ratings.rating[g.away] + (g.neutral ? 0.0 : m.ratings.home_field);
    }
    s.total = g.total_line.value_or(m.mean_total);
    const double band = m.ties ? k_tie_band : 0.0;
    s.p_away = normal_cdf((-band - s.spread) / m.sigma);
    s.p_home = normal_cdf((band - s.spread) / m.sigma);
    p.games.push_back(s);
  }
  for (int t = 0; t < k_teams; ++t) {
    p.current_w2[t] = p.base.total_half_points(t);
  }
  for (int h = 0; h < k_teams; ++h) {
    for (int a = 0; a < k_teams; ++a) {
      const double diff = m.ratings.rating[h] - m.ratings.rating[a];
      p.p_home_site[h][a] = home_win_probability(diff + m.ratings.home_field, m.sigma);
      p.p_neutral[h][a] = home_win_probability(diff, m.sigma);
    }
  }
  for (const auto& g : m.schedule.playoffs) {
    if ((g.week < m.start_week || m.keep_all_played) && g.played() && *g.home_score != *g.away_score) {
      p.actual_playoffs.push_back({g.home, g.away, *g.home_score > *g.away_score ? g.home : g.away});
    }
  }
  return p;
}

// Fills u[0..n) with the season's regular-season uniforms (counter {lo, hi, k/4, 0}).
void draw_uniforms(const Philox4x32& rng, std::uint32_t lo, std::uint32_t hi, std::size_t n, double* u) {
  for (std::size_t k = 0; k < n; k += 4) {
    const auto block = rng({lo, hi, static_cast<std::uint32_t>(k / 4), 0});
    for (std::size_t j = 0; j < 4; ++j) {
      u[k + j] = Philox4x32::to_unit(block[j]);
    }
  }
}

// Margins (and so points) of the drawn games, derived from the same uniforms that
// decided them: only computed when a points-based tie-breaker step is reached. When
// the outcomes came from a device batch the uniforms are redrawn here first.
class DrawnPoints final : public PointsSource {
public:
  DrawnPoints(const Prepared& p, std::vector<double>& u, bool have_u, const Philox4x32& rng, std::uint32_t lo,
              std::uint32_t hi)
      : m_p(p), m_uv(u), m_have_u(have_u), m_rng(rng), m_lo(lo), m_hi(hi) {}
  void add_points(SeasonTable& table) const override {
    if (!m_have_u) {
      draw_uniforms(m_rng, m_lo, m_hi, m_p.games.size(), m_uv.data());
      m_have_u = true;
    }
    const double* m_u = m_uv.data();
    for (std::size_t k = 0; k < m_p.games.size(); ++k) {
      const SimGame& g = m_p.games[k];
      const double x = g.spread + m_p.sigma * normal_quantile(m_u[k]);
      long margin = 0;
      if (m_u[k] < g.p_away) {
        margin = std::min(-1L, std::lround(x));
      } else if (m_u[k] >= g.p_home) {
        margin = std::max(1L, std::lround(x));
      }
      long home = std::lround((g.total + static_cast<double>(margin)) / 2.0);
      long away = home - margin;
      if (away < 0) {
        away = 0;
        home = margin;
      } else if (home < 0) {
        home = 0;
        away = -margin;
      }
      table.add_points(g.home, g.away, static_cast<int>(home));
      table.add_points(g.away, g.home, static_cast<int>(away));
    }
  }

private:
  const Prepared& m_p;
  std::vector<double>& m_uv;
  mutable bool m_have_u;
  const Philox4x32& m_rng;
  std::uint32_t m_lo;
  std::uint32_t m_hi;
};

struct Tally {
  std::array<std::int64_t, k_teams> w2{};
  std::array<std::int64_t, k_teams> playoffs{};
  std::array<std::int64_t, k_teams> division{};
  std::array<std::int64_t, k_teams> first_seed{};
  std::array<std::int64_t, k_teams> conference{};
  std::array<std::int64_t, k_teams> super_bowl{};

  void add(const Tally& o) {
    for (int t = 0; t < k_teams; ++t) {
      w2[t] += o.w2[t];
      playoffs[t] += o.playoffs[t];
      division[t] += o.division[t];
      first_seed[t] += o.first_seed[t];
      conference[t] += o.conference[t];
      super_bowl[t] += o.super_bowl[t];
    }
  }
};

// Everything one thread needs, allocated once.
class Worker {
public:
  Worker(const Prepared& p, std::uint64_t seed)
      : m_p(p), m_rng(seed), m_seed(seed), m_u(p.games.size() + 4), m_calc(p.playoff_teams, seed) {}

  // `outcomes`: the season's drawn games from a device batch (-1/0/+1 per game), or
  // null to draw them here.
  void run(std::int64_t index, Tally& tally, const std::int8_t* outcomes = nullptr) {
    const auto lo = static_cast<std::uint32_t>(index);
    const auto hi = static_cast<std::uint32_t>(static_cast<std::uint64_t>(index) >> 32);
    const std::size_t n = m_p.games.size();
    m_table = m_p.base;
    if (outcomes == nullptr) {
      draw_uniforms(m_rng, lo, hi, n, m_u.data());
      for (std::size_t k = 0; k < n; ++k) {
        const SimGame& g = m_p.games[k];
        const double u = m_u[k];
        m_table.add_outcome(g.home, g.away, u < g.p_away ? -1 : (u >= g.p_home ? 1 : 0));
      }
    } else {
      for (std::size_t k = 0; k < n; ++k) {
        m_table.add_outcome(m_p.games[k].home, m_p.games[k].away, outcomes[k]);
      }
    }
    DrawnPoints points(m_p, m_u, outcomes == nullptr, m_rng, lo, hi);
    m_table.set_points_source(&points);
    m_calc.set_coin_seed(m_seed ^ (static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ULL));
    m_calc.compute(m_table, m_standings);
    m_table.set_points_source(nullptr);

    for (int t = 0; t < k_teams; ++t) {
      tally.w2[t] += m_table.total_half_points(t);
      tally.playoffs[t] += m_standings.seed[t] > 0 ? 1 : 0;
      tally.division[t] += m_standings.div_rank[t] == 1 ? 1 : 0;
      tally.first_seed[t] += m_standings.seed[t] == 1 ? 1 : 0;
    }
    play_playoffs(lo, hi, tally);
  }

private:
  void play_playoffs(std::uint32_t lo, std::uint32_t hi, Tally& tally) {
    std::array<double, k_max_playoff_games> u{};
    for (int b = 0; b < k_max_playoff_games / 4; ++b) {
      const auto block = m_rng({lo, hi, static_cast<std::uint32_t>(b), 1});
      for (int j = 0; j < 4; ++j) {
        u[b * 4 + j] = Philox4x32::to_unit(block[j]);
      }
    }
    int next_u = 0;
    const auto play = [&](int home, int away, bool neutral) {
      const double draw = u[next_u++];
      for (const auto& a : m_p.actual_playoffs) {
        if ((a.home == home && a.away == away) || (a.home == away && a.away == home)) {
          return a.winner;
        }
      }
      const double p = neutral ? m_p.p_neutral[home][away] : m_p.p_home_site[home][away];
      return draw < p ? home : away;
    };
    std::array<int, 2> champion{};
    for (int c = 0; c < 2; ++c) {
      const auto& by_seed = m_standings.by_seed[c];
      const int n = m_p.playoff_teams;
      const int byes = n == 7 ? 1 : 2;
      // Seeds still alive, as seed numbers (1-based).
      std::array<int, 4> alive{};
      int count = 0;
      for (int s = 1; s <= byes; ++s) {
        alive[count++] = s;
      }
      for (int s = byes + 1; s <= byes + (n - byes) / 2; ++s) {
        const int other = n + byes + 1 - s;
        const int w = play(by_seed[s - 1], by_seed[other - 1], false);
        alive[count++] = w == by_seed[s - 1] ? s : other;
      }
      std::sort(alive.begin(), alive.end()); // reseeding: the best seed meets the worst
      const int w1 = play(by_seed[alive[0] - 1], by_seed[alive[3] - 1], false);
      const int w2 = play(by_seed[alive[1] - 1], by_seed[alive[2] - 1], false);
      const int s1 = m_standings.seed[w1];
      const int s2 = m_standings.seed[w2];
      champion[c] = s1 < s2 ? play(w1, w2, false) : play(w2, w1, false);
      ++tally.conference[champion[c]];
    }
    ++tally.super_bowl[play(champion[0], champion[1], true)];
  }

  const Prepared& m_p;
  Philox4x32 m_rng;
  std::uint64_t m_seed;
  std::vector<double> m_u;
  SeasonTable m_table;
  Standings m_standings;
  StandingsCalculator m_calc;
};

} // namespace

double home_win_probability(double spread, double sigma) { return normal_cdf(spread / sigma); }


SimulationResult simulate_season(const SimulationModel& model, const SimulationOptions& options, std::stop_token stop,
                                 const ProgressFn& progress) {
  if (options.simulations < 1) {
    throw InputError("simulations: must be at least 1");
  }
  if (options.batch < 1) {
    throw InputError("batch: must be at least 1");
  }
  const auto started = std::chrono::steady_clock::now();
  const Prepared prepared = prepare(model);
  const std::int64_t total = options.simulations;
  const std::int64_t chunks = (total + k_chunk - 1) / k_chunk;
  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<std::int64_t>(threads, chunks));

  std::atomic<std::int64_t> done{0};
  std::atomic<bool> stopped{false};
  std::mutex merge_mutex;
  Tally total_tally;
  std::exception_ptr failure;
  double reported = -1.0; // guarded by merge_mutex

  // Runs seasons [begin, end) on `threads` host threads; `outcomes` (null: draw here)
  // holds the drawn games of season `begin` onwards, one row per season.
  const auto run_range = [&](std::int64_t begin, std::int64_t end, const std::int8_t* outcomes) {
    std::atomic<std::int64_t> next_chunk{begin / k_chunk};
    const std::int64_t last_chunk = (end + k_chunk - 1) / k_chunk;
    const std::size_t n = prepared.games.size();
    const auto work = [&] {
      try {
        Worker worker(prepared, options.seed);
        Tally tally;
        while (!stopped.load(std::memory_order_relaxed)) {
          if (stop.stop_requested()) {
            stopped = true;
            break;
          }
          const std::int64_t chunk = next_chunk.fetch_add(1);
          if (chunk >= last_chunk) {
            break;
          }
          const std::int64_t from = std::max(begin, chunk * k_chunk);
          const std::int64_t to = std::min(end, (chunk + 1) * k_chunk);
          for (std::int64_t i = from; i < to; ++i) {
            worker.run(i, tally, outcomes == nullptr ? nullptr : outcomes + static_cast<std::size_t>(i - begin) * n);
          }
          const std::int64_t finished = done.fetch_add(to - from) + (to - from);
          const double percent = 100.0 * static_cast<double>(finished) / static_cast<double>(total);
          if (progress) {
            std::lock_guard lock(merge_mutex);
            if (percent - reported >= 1.0) {
              reported = percent;
              progress(percent, fmt::format("{} of {} seasons simulated", finished, total));
            }
          }
        }
        std::lock_guard lock(merge_mutex);
        total_tally.add(tally);
      } catch (...) {
        std::lock_guard lock(merge_mutex);
        failure = std::current_exception();
        stopped = true;
      }
    };
    std::vector<std::jthread> pool;
    for (int t = 1; t < threads; ++t) {
      pool.emplace_back(work);
    }
    work();
  };

  double draw_seconds = 0.0;
  if (options.kernel == SimKernel::cpu) {
    run_range(0, total, nullptr);
  } else {
    // Device batches: the next batch is drawn while the host threads score this one.
    std::vector<gpu::DrawGame> games;
    games.reserve(prepared.games.size());
    for (const auto& g : prepared.games) {
      games.push_back({g.home, g.away, g.p_away, g.p_home});
    }
    const std::int64_t batch = std::min(total, options.batch);
    std::unique_ptr<gpu::CudaSeasonDrawer> device;
    if (options.kernel == SimKernel::cuda) {
      device = std::make_unique<gpu::CudaSeasonDrawer>(options.seed, games, batch);
    }
    const auto draw = [&](std::int64_t first, std::int64_t count, std::vector<std::int8_t>& out) {
      out.resize(static_cast<std::size_t>(count) * games.size() + 1);
      if (device) {
        device->draw(first, count, out.data());
      } else {
        gpu::draw_outcomes_cpu(options.seed, games, first, count, out.data());
      }
    };
    std::array<std::vector<std::int8_t>, 2> buffers;
    const auto wait_started = std::chrono::steady_clock::now();
    draw(0, batch, buffers[0]);
    draw_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_started).count();
    for (std::int64_t first = 0, b = 0; first < total && !stopped; first += batch, b ^= 1) {
      const std::int64_t count = std::min(batch, total - first);
      const std::int64_t next = first + count;
      std::future<void> pending;
      if (next < total) {
        pending = std::async(std::launch::async, draw, next, std::min(batch, total - next), std::ref(buffers[b ^ 1]));
      }
      run_range(first, next, buffers[b].data());
      if (pending.valid()) {
        const auto t0 = std::chrono::steady_clock::now();
        pending.get(); // rethrows a device failure
        draw_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
    }
  }
  if (failure) {
    std::rethrow_exception(failure);
  }
  if (stopped || stop.stop_requested()) {
    throw TaskStopped();
  }
  if (progress) {
    progress(100.0, fmt::format("{} of {} seasons simulated", total, total));
  }

  SimulationResult r;
  r.simulations = total;
  r.threads = threads;
  r.simulated_games = static_cast<int>(prepared.games.size());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  r.seasons_per_second = r.seconds > 0 ? static_cast<double>(total) / r.seconds : 0.0;
  r.draw_seconds = draw_seconds;
  const double n = static_cast<double>(total);
  for (int t = 0; t < k_teams; ++t) {
    TeamOdds o;
    o.team = model.schedule.league.codes[t];
    o.division = division_name(division_of(t));
    o.current_wins = prepared.current_w2[t] / 2.0;
    o.expected_wins = static_cast<double>(total_tally.w2[t]) / 2.0 / n;
    o.p_playoffs = static_cast<double>(total_tally.playoffs[t]) / n;
    o.p_division = static_cast<double>(total_tally.division[t]) / n;
    o.p_first_seed = static_cast<double>(total_tally.first_seed[t]) / n;
    o.p_conference = static_cast<double>(total_tally.conference[t]) / n;
    o.p_super_bowl = static_cast<double>(total_tally.super_bowl[t]) / n;
    r.teams.push_back(std::move(o));
  }
  return r;
}

// ---------------------------------------------------------------- model building

namespace {

bool before(const Game& g, int season, int week) { return g.season < season || (g.season == season && g.week < week); }

} // namespace

double estimate_sigma(const std::vector<Game>& games, int season, int week) {
  double sum = 0.0;
  double sum_sq = 0.0;
  std::int64_t n = 0;
  for (const auto& g : games) {
    if (g.game_type == "REG" && g.played() && g.spread_line && before(g, season, week)) {
      const double e = g.result() - *g.spread_line;
      sum += e;
      sum_sq += e * e;
      ++n;
    }
  }
  if (n < 30) {
    throw InputError(fmt::format("sigma: only {} played games with a spread line before {} week {} to estimate it "
                                 "from; set sigma in the config",
                                 n, season, week));
  }
  const double mean = sum / static_cast<double>(n);
  return std::sqrt((sum_sq - static_cast<double>(n) * mean * mean) / static_cast<double>(n - 1));
}

double estimate_mean_total(const std::vector<Game>& games, int season, int week) {
  double sum = 0.0;
  std::int64_t n = 0;
  for (const auto& g : games) {
    if (g.game_type == "REG" && g.played() && before(g, season, week)) {
      sum += *g.home_score + *g.away_score;
      ++n;
    }
  }
  return n == 0 ? 44.0 : sum / static_cast<double>(n);
}

Ratings market_ratings(const SeasonSchedule& schedule) {
  std::vector<const SeasonGame*> lined;
  for (const auto* list : {&schedule.regular, &schedule.playoffs}) {
    for (const auto& g : *list) {
      if (g.spread_line) {
        lined.push_back(&g);
      }
    }
  }
  if (lined.size() < 16) {
    throw InputError(fmt::format("rating_source: 'market' needs spread lines; the {} season has only {}",
                                 schedule.league.season, lined.size()));
  }
  // spread = r_home - r_away + hfa·(not neutral); one extra row pins Σr = 0.
  const auto rows = static_cast<Eigen::Index>(lined.size() + 1);
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(rows, k_teams + 1);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(rows);
  for (std::size_t i = 0; i < lined.size(); ++i) {
    const auto row = static_cast<Eigen::Index>(i);
    a(row, lined[i]->home) += 1.0;
    a(row, lined[i]->away) -= 1.0;
    a(row, k_teams) = lined[i]->neutral ? 0.0 : 1.0;
    b(row) = *lined[i]->spread_line;
  }
  a.row(rows - 1).head(k_teams).setOnes();
  const Eigen::VectorXd x = a.colPivHouseholderQr().solve(b);
  Ratings r;
  for (int t = 0; t < k_teams; ++t) {
    r.rating[t] = x(t);
  }
  r.home_field = x(k_teams);
  return r;
}

Ratings elo_ratings_from_csv(const std::string& csv_text, const League& league, int week, const EloParameters& p) {
  const auto records = parse_csv(csv_text);
  if (records.empty()) {
    throw InputError("elo_ratings.csv: empty file");
  }
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < records[0].fields.size(); ++i) {
    col[records[0].fields[i]] = i;
  }
  for (const char* name : {"team", "season", "week", "rating"}) {
    if (!col.count(name)) {
      throw InputError(fmt::format("elo_ratings.csv: missing column '{}'", name));
    }
  }
  struct Latest {
    int season = -1;
    int week = -1;
    double rating = 0.0;
  };
  std::array<Latest, k_teams> latest{};
  std::map<int, League> leagues;
  for (std::size_t i = 1; i < records.size(); ++i) {
    const auto& f = records[i].fields;
    if (f.size() < records[0].fields.size()) {
      continue;
    }
    int season = 0;
    int row_week = 0;
    double rating = 0.0;
    try {
      season = std::stoi(f[col["season"]]);
      row_week = std::stoi(f[col["week"]]);
      rating = std::stod(f[col["rating"]]);
    } catch (const std::exception&) {
      throw InputError(fmt::format("elo_ratings.csv line {}: season, week and rating must be numbers",
                                   records[i].first_line));
    }
    if (season > league.season || (season == league.season && row_week >= week)) {
      continue;
    }
    // Franchise codes changed with relocations: map through that season's alignment.
    const int code_season = std::max(season, k_first_season);
    auto it = leagues.find(code_season);
    if (it == leagues.end()) {
      it = leagues.emplace(code_season, league_for_season(code_season)).first;
    }
    const auto team = it->second.find(f[col["team"]]);
    if (!team) {
      continue;
    }
    Latest& l = latest[*team];
    if (season > l.season || (season == l.season && row_week >= l.week)) {
      l = {season, row_week, rating};
    }
  }
  Ratings r;
  for (int t = 0; t < k_teams; ++t) {
    double elo = p.mean; // a team without history (HOU in 2002) starts at the mean
    if (latest[t].season == league.season) {
      elo = latest[t].rating;
    } else if (latest[t].season >= 0) {
      elo = latest[t].rating + p.revert * (p.mean - latest[t].rating);
    }
    r.rating[t] = elo * p.points_per_elo;
  }
  r.home_field = p.home_advantage * p.points_per_elo;
  return r;
}

} // namespace nfl::analytics::season
