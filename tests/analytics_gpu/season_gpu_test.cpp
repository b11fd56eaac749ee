// The season kernel: the integer-threshold outcome rule equals the simulator's
// double comparison, the device-batched path gives exactly the CPU path's odds for
// a seed, different seeds agree within Monte Carlo error, and the CUDA kernel (when
// a device is present) draws exactly the CPU streams. docs/gpu.md states the tolerances.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>

#include "analytics/gpu/device.hpp"
#include "analytics/gpu/season_draws.hpp"
#include "analytics/gpu/thresholds.hpp"
#include "analytics/season/philox.hpp"
#include "analytics/season/simulator.hpp"
#include "support/redis_server.hpp"

namespace nfl::analytics::gpu {
namespace {

using season::Philox4x32;

const std::vector<Game>& all_games() {
  static const std::vector<Game> games = [] {
    IngestReport report;
    return read_games_csv(std::filesystem::path(NFL_SOURCE_DIR) / "share/nfl/games.csv", report);
  }();
  return games;
}

season::SimulationModel market_model(int season, int week) {
  season::SimulationModel m;
  m.schedule = season::schedule_for_season(all_games(), season);
  m.start_week = week;
  m.ratings = season::market_ratings(m.schedule);
  m.use_spread_lines = true;
  m.sigma = season::estimate_sigma(all_games(), season, week);
  return m;
}

void expect_same_odds(const season::SimulationResult& a, const season::SimulationResult& b) {
  ASSERT_EQ(a.teams.size(), b.teams.size());
  for (std::size_t t = 0; t < a.teams.size(); ++t) {
    EXPECT_EQ(a.teams[t].expected_wins, b.teams[t].expected_wins) << a.teams[t].team;
    EXPECT_EQ(a.teams[t].p_playoffs, b.teams[t].p_playoffs) << a.teams[t].team;
    EXPECT_EQ(a.teams[t].p_division, b.teams[t].p_division) << a.teams[t].team;
    EXPECT_EQ(a.teams[t].p_first_seed, b.teams[t].p_first_seed) << a.teams[t].team;
    EXPECT_EQ(a.teams[t].p_conference, b.teams[t].p_conference) << a.teams[t].team;
    EXPECT_EQ(a.teams[t].p_super_bowl, b.teams[t].p_super_bowl) << a.teams[t].team;
  }
}

// The simulator's rule on the double uniform, written out independently.
std::int8_t double_rule(const DrawGame& g, std::uint32_t word) {
  const double u = Philox4x32::to_unit(word);
  return u < g.p_away ? -1 : (u >= g.p_home ? 1 : 0);
}

TEST(SeasonKernel, ThresholdsDecideExactlyLikeTheDoubleComparison) {
  // Probabilities at and next to representable uniforms, the ends, and random ones.
  std::vector<double> ps = {0.0, 1.0, 1e-300, 1.0 - 1e-16, 0.5, Philox4x32::to_unit(12345),
                            std::nextafter(Philox4x32::to_unit(12345), 0.0),
                            std::nextafter(Philox4x32::to_unit(12345), 1.0), Philox4x32::to_unit(0),
                            Philox4x32::to_unit(0xFFFFFFFFu)};
  const Philox4x32 rng(99);
  for (std::uint32_t k = 0; k < 64; ++k) {
    const auto b = rng({k, 0, 0, 7});
    ps.push_back(Philox4x32::to_unit(b[0]));
    ps.push_back(Philox4x32::to_unit(b[1]) * 0.02);
  }
  for (const double p : ps) {
    const std::uint64_t t = first_word_at_least(p);
    if (t > 0) {
      EXPECT_LT(Philox4x32::to_unit(static_cast<std::uint32_t>(t - 1)), p) << p;
    }
    if (t < (std::uint64_t{1} << 32)) {
      EXPECT_GE(Philox4x32::to_unit(static_cast<std::uint32_t>(t)), p) << p;
    }
  }
  // And on whole outcomes: one game per pair of probabilities, many words each.
  std::vector<DrawGame> games;
  for (std::size_t i = 0; i + 1 < ps.size(); i += 2) {
    const double lo = std::min(ps[i], ps[i + 1]);
    const double hi = std::max(ps[i], ps[i + 1]);
    games.push_back({0, 1, lo, hi});
  }
  const auto thresholds = to_thresholds(games);
  for (std::uint32_t k = 0; k < 2000; ++k) {
    const auto b = rng({k, 1, 0, 7});
    for (std::size_t g = 0; g < games.size(); ++g) {
      for (const std::uint32_t w : b) {
        ASSERT_EQ(outcome_from_word(thresholds[g], w), double_rule(games[g], w));
      }
    }
  }
}

TEST(SeasonKernel, CpuDrawsFollowTheSimulatorsCounterLayout) {
  std::vector<DrawGame> games;
  for (int k = 0; k < 11; ++k) { // not a multiple of 4: the last block is partly used
    games.push_back({static_cast<std::uint8_t>(k), static_cast<std::uint8_t>(k + 1), 0.3 + 0.01 * k, 0.32 + 0.01 * k});
  }
  const std::int64_t first = (std::int64_t{1} << 32) + 5; // the index's high word is used
  std::vector<std::int8_t> out(3 * games.size());
  draw_outcomes_cpu(42, games, first, 3, out.data());
  const Philox4x32 rng(42);
  for (std::int64_t s = 0; s < 3; ++s) {
    const std::int64_t index = first + s;
    for (std::size_t k = 0; k < games.size(); ++k) {
      const auto block = rng({static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32),
                              static_cast<std::uint32_t>(k / 4), 0});
      EXPECT_EQ(out[static_cast<std::size_t>(s) * games.size() + k], double_rule(games[k], block[k % 4]));
    }
  }
}

TEST(SeasonKernel, BatchedPathGivesExactlyTheCpuOdds) {
  const auto m = market_model(2023, 10);
  season::SimulationOptions o;
  o.simulations = 3000;
  o.seed = 11;
  o.threads = 2;
  const auto cpu = season::simulate_season(m, o);
  o.kernel = season::SimKernel::cpu_batched;
  o.batch = 1000; // batches that do not line up with the 256-season chunks
  const auto batched = season::simulate_season(m, o);
  expect_same_odds(cpu, batched);
}

TEST(SeasonKernel, DifferentSeedsAgreeWithinMonteCarloError) {
  // Independent runs: each probability differs by at most 4.5 standard errors of the
  // difference, sqrt(p1(1-p1)/n + p2(1-p2)/n) (160 comparisons: a false alarm has
  // probability below 1e-3); expected wins by 4.5·sqrt(2·var/n) with var ≤ 4.25 (17 games).
  const auto m = market_model(2024, 1);
  season::SimulationOptions o;
  o.simulations = 20000;
  o.threads = 2;
  o.seed = 1;
  const auto a = season::simulate_season(m, o);
  o.seed = 2;
  o.kernel = season::SimKernel::cpu_batched;
  const auto b = season::simulate_season(m, o);
  const double n = static_cast<double>(o.simulations);
  const auto tol = [n](double p1, double p2) { return 4.5 * std::sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n) + 1e-12; };
  for (std::size_t t = 0; t < a.teams.size(); ++t) {
    const auto& x = a.teams[t];
    const auto& y = b.teams[t];
    EXPECT_NEAR(x.p_playoffs, y.p_playoffs, tol(x.p_playoffs, y.p_playoffs)) << x.team;
    EXPECT_NEAR(x.p_division, y.p_division, tol(x.p_division, y.p_division)) << x.team;
    EXPECT_NEAR(x.p_first_seed, y.p_first_seed, tol(x.p_first_seed, y.p_first_seed)) << x.team;
    EXPECT_NEAR(x.p_conference, y.p_conference, tol(x.p_conference, y.p_conference)) << x.team;
    EXPECT_NEAR(x.p_super_bowl, y.p_super_bowl, tol(x.p_super_bowl, y.p_super_bowl)) << x.team;
    EXPECT_NEAR(x.expected_wins, y.expected_wins, 4.5 * std::sqrt(2 * 4.25 / n)) << x.team;
  }
}

TEST(SeasonKernel, CudaKernelDrawsExactlyTheCpuStreams) {
  const CudaStatus cuda = cuda_status();
  if (!cuda.available) {
    // Without a device the drawer must refuse clearly, never crash.
    try {
      CudaSeasonDrawer drawer(1, {{0, 1, 0.4, 0.41}}, 16);
      ADD_FAILURE() << "a drawer without a device";
    } catch (const GpuUnavailable& e) {
      EXPECT_FALSE(std::string(e.what()).empty());
    }
    GTEST_SKIP() << "no CUDA device: " << cuda.reason;
  }
  const auto m = market_model(2023, 1);
  std::vector<DrawGame> games;
  for (const auto& g : m.schedule.regular) {
    games.push_back({static_cast<std::uint8_t>(g.home), static_cast<std::uint8_t>(g.away), 0.41, 0.42});
  }
  const std::int64_t count = 50'000;
  std::vector<std::int8_t> cpu(static_cast<std::size_t>(count) * games.size());
  std::vector<std::int8_t> dev(cpu.size());
  draw_outcomes_cpu(5, games, 1'000, count, cpu.data());
  CudaSeasonDrawer drawer(5, games, count);
  drawer.draw(1'000, count, dev.data());
  EXPECT_EQ(cpu, dev);

  season::SimulationOptions o;
  o.simulations = 40'000;
  o.seed = 3;
  o.threads = 2;
  const auto on_cpu = season::simulate_season(m, o);
  o.kernel = season::SimKernel::cuda;
  o.batch = 16'384;
  const auto on_gpu = season::simulate_season(m, o);
  expect_same_odds(on_cpu, on_gpu);
}

TEST(CudaStatus, SaysWhetherTheKernelsAreBuiltAndWhy) {
  const CudaStatus s = cuda_status();
  EXPECT_FALSE(s.build_info.empty());
  if (!s.available) {
    EXPECT_FALSE(s.reason.empty());
    EXPECT_EQ(device_label(s), "cpu");
  } else {
    EXPECT_EQ(device_label(s), "cuda:" + s.device_name);
  }
}

std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return out;
  }
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) {
    out += buf.data();
  }
  ::pclose(pipe);
  return out;
}

TEST(CudaBuild, HardwareCommandReportsTheCudaBuild) {
  const std::string out = run_command(std::string(NFL_BINARY) + " hardware 2>&1");
  const auto line_start = out.find("\ncuda:");
  ASSERT_NE(line_start, std::string::npos) << out;
  const std::string line = out.substr(line_start + 1, out.find('\n', line_start + 1) - line_start - 1);
  if (cuda_status().built) {
    EXPECT_NE(line.find("built (CUDA "), std::string::npos) << line;
  } else {
    EXPECT_NE(line.find("not built"), std::string::npos) << line;
  }
  if (!cuda_status().available) {
    EXPECT_NE(line.find("GPU tasks run on the CPU kernels"), std::string::npos) << line;
  }
}

TEST(CudaBuild, TheBinaryNeedsNoCudaDriverOrSharedRuntime) {
  // cudart is linked statically and dlopens libcuda at the first call, so the binary
  // starts (and this very test suite ran) on machines without a driver.
  const std::string deps = run_command(std::string("ldd ") + NFL_BINARY + " 2>&1");
  ASSERT_FALSE(deps.empty());
  EXPECT_EQ(deps.find("libcuda."), std::string::npos) << deps;
  EXPECT_EQ(deps.find("libcudart"), std::string::npos) << deps;
}

} // namespace
} // namespace nfl::analytics::gpu
