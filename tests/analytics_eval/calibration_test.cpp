// The calibration kernels against scikit-learn (fixtures written by
// tests/reference/calibration_reference.py), plus properties sklearn does not cover.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analytics/evaluation/calibration.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::analytics::eval {
namespace {

struct Fixture {
  nlohmann::json j;
  std::vector<double> p;
  std::vector<int> y;
};

Fixture load(const std::string& name) {
  const auto path = std::filesystem::path(NFL_SOURCE_DIR) / "tests/reference/fixtures" / ("calibration_" + name + ".json");
  Fixture f;
  f.j = nlohmann::json::parse(read_file(path));
  f.p = f.j["p"].get<std::vector<double>>();
  f.y = f.j["y"].get<std::vector<int>>();
  return f;
}

class SklearnFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(SklearnFixture, PlattMatchesSigmoidCalibrationTo1e6) {
  const auto f = load(GetParam());
  const auto model = fit_platt(f.p, f.y);
  // sklearn stops BFGS at gtol 1e-5; its solution must be near-stationary for the comparison to mean anything.
  ASSERT_LT(f.j["platt"]["gradient_l1_at_sklearn_solution"].get<double>(), 1e-4);
  EXPECT_NEAR(model.a, f.j["platt"]["a"].get<double>(), 1e-6);
  EXPECT_NEAR(model.b, f.j["platt"]["b"].get<double>(), 1e-6);
  const auto probe = f.j["platt"]["probe"].get<std::vector<double>>();
  const auto expected = f.j["platt"]["predict"].get<std::vector<double>>();
  for (std::size_t i = 0; i < probe.size(); ++i) {
    if (probe[i] <= 0.0 || probe[i] >= 1.0) {
      continue; // logit of a non-probability: both sides clip, not a calibration question
    }
    EXPECT_NEAR(model.predict(probe[i]), expected[i], 1e-6) << "probe " << probe[i];
  }
}

TEST_P(SklearnFixture, IsotonicMatchesIsotonicRegressionTo1e9) {
  const auto f = load(GetParam());
  std::vector<double> yd(f.y.begin(), f.y.end());
  IsotonicModel model;
  model.fit(f.p, yd);
  const auto tx = f.j["isotonic"]["thresholds_x"].get<std::vector<double>>();
  const auto ty = f.j["isotonic"]["thresholds_y"].get<std::vector<double>>();
  ASSERT_EQ(model.thresholds_x().size(), tx.size());
  for (std::size_t i = 0; i < tx.size(); ++i) {
    EXPECT_NEAR(model.thresholds_x()[i], tx[i], 1e-12);
    EXPECT_NEAR(model.thresholds_y()[i], ty[i], 1e-9);
  }
  const auto probe = f.j["isotonic"]["probe"].get<std::vector<double>>();
  const auto expected = f.j["isotonic"]["predict"].get<std::vector<double>>();
  for (std::size_t i = 0; i < probe.size(); ++i) {
    EXPECT_NEAR(model.predict(probe[i]), expected[i], 1e-9) << "probe " << probe[i];
  }
}

TEST_P(SklearnFixture, ScoresAndReliabilityCurveMatch) {
  const auto f = load(GetParam());
  EXPECT_NEAR(brier_score(f.p, f.y), f.j["brier"].get<double>(), 1e-12);
  EXPECT_NEAR(log_loss(f.p, f.y), f.j["log_loss"].get<double>(), 1e-12);
  const int bins = f.j["curve"]["bins"].get<int>();
  const auto curve = reliability_curve(f.p, f.y, bins);
  const auto prob_true = f.j["curve"]["prob_true"].get<std::vector<double>>();
  const auto prob_pred = f.j["curve"]["prob_pred"].get<std::vector<double>>();
  const auto counts = f.j["curve"]["counts"].get<std::vector<std::size_t>>();
  ASSERT_EQ(curve.size(), prob_true.size());
  for (std::size_t i = 0; i < curve.size(); ++i) {
    EXPECT_NEAR(curve[i].observed, prob_true[i], 1e-12);
    EXPECT_NEAR(curve[i].mean_predicted, prob_pred[i], 1e-12);
    EXPECT_EQ(curve[i].count, counts[i]);
  }
  EXPECT_NEAR(expected_calibration_error(f.p, f.y, bins), f.j["ece"].get<double>(), 1e-12);
}

TEST_P(SklearnFixture, OutOfFoldPredictionsMatch) {
  const auto f = load(GetParam());
  const auto fold = f.j["cv"]["fold"].get<std::vector<int>>();
  const int folds = f.j["cv"]["folds"].get<int>();
  const auto platt = out_of_fold(f.p, f.y, fold, folds, CalibrationMethod::platt);
  const auto iso = out_of_fold(f.p, f.y, fold, folds, CalibrationMethod::isotonic);
  const auto expected_platt = f.j["cv"]["platt"].get<std::vector<double>>();
  const auto expected_iso = f.j["cv"]["isotonic"].get<std::vector<double>>();
  for (std::size_t i = 0; i < f.p.size(); ++i) {
    EXPECT_NEAR(platt[i], expected_platt[i], 1e-6);
    EXPECT_NEAR(iso[i], expected_iso[i], 1e-9);
  }
}

INSTANTIATE_TEST_SUITE_P(Calibration, SklearnFixture,
                         ::testing::Values("synthetic", "synthetic_ties", "market_2018_2019"));

TEST(Platt, IdentityForAWellCalibratedForecaster) {
  // Outcomes drawn exactly at p in proportion: y = 1 for a p-fraction of copies.
  std::vector<double> p;
  std::vector<int> y;
  for (int k = 1; k < 10; ++k) {
    for (int i = 0; i < 1000; ++i) {
      p.push_back(k / 10.0);
      y.push_back(i < k * 100 ? 1 : 0);
    }
  }
  const auto m = fit_platt(p, y);
  // Platt's smoothed targets shrink slightly toward 1/2, so not exactly (-1, 0).
  EXPECT_NEAR(m.a, -1.0, 2e-3);
  EXPECT_NEAR(m.b, 0.0, 2e-3);
}

TEST(Isotonic, PoolsViolatorsAndAveragesTiedX) {
  // x ties: (1: 0 and 1 -> 0.5), then a violator pair at x=2,3.
  IsotonicModel m;
  m.fit({1, 1, 2, 3, 4}, {0, 1, 1, 0, 1});
  // unique: x=1 y=.5 w=2; x=2 y=1; x=3 y=0; x=4 y=1 -> pool (1,0) -> 0.5 with 0.5 before: block of 0.5
  EXPECT_DOUBLE_EQ(m.predict(1.0), 0.5);
  EXPECT_DOUBLE_EQ(m.predict(2.5), 0.5);
  EXPECT_DOUBLE_EQ(m.predict(4.0), 1.0);
  EXPECT_DOUBLE_EQ(m.predict(3.5), 0.75);
  EXPECT_DOUBLE_EQ(m.predict(-10.0), 0.5); // clipped
  EXPECT_DOUBLE_EQ(m.predict(10.0), 1.0);
  // The middle of a constant run is trimmed: thresholds 1, 3, 4.
  EXPECT_EQ(m.thresholds_x(), (std::vector<double>{1, 3, 4}));
}

TEST(Isotonic, ResultIsMonotoneAndPreservesTheMean) {
  std::vector<double> y = {5, 1, 4, 2, 3, 9, 0, 7};
  std::vector<double> w(y.size(), 1.0);
  const double mean_before = 31.0 / 8.0;
  pool_adjacent_violators(y, w);
  double sum = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    sum += y[i];
    if (i > 0) {
      EXPECT_LE(y[i - 1], y[i]);
    }
  }
  EXPECT_DOUBLE_EQ(sum / 8.0, mean_before);
}

TEST(KFold, EveryItemOncePerRepeatBalancedAndSeeded) {
  const auto a = kfold_assignment(103, 5, 7, 0);
  const auto b = kfold_assignment(103, 5, 7, 0);
  const auto c = kfold_assignment(103, 5, 7, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<int> sizes(5, 0);
  for (int f : a) {
    ASSERT_GE(f, 0);
    ASSERT_LT(f, 5);
    ++sizes[static_cast<std::size_t>(f)];
  }
  for (int s : sizes) {
    EXPECT_TRUE(s == 20 || s == 21) << s;
  }
  EXPECT_THROW(kfold_assignment(3, 5, 1, 0), InputError);
  EXPECT_THROW(kfold_assignment(30, 1, 1, 0), InputError);
}

TEST(Reliability, EdgeValuesBelongToTheLowerBinAndMismatchedSizesThrow) {
  const auto curve = reliability_curve({0.1, 0.1000001, 1.0, 0.0}, {1, 0, 1, 0}, 10);
  ASSERT_EQ(curve.size(), 3u);
  EXPECT_EQ(curve[0].bin, 0);
  EXPECT_EQ(curve[0].count, 2u); // 0.0 and 0.1
  EXPECT_EQ(curve[1].bin, 1);
  EXPECT_EQ(curve[2].bin, 9);
  EXPECT_THROW(brier_score({0.5}, {1, 0}), InputError);
  EXPECT_THROW(reliability_curve({1.5}, {1}, 10), InputError);
}

} // namespace
} // namespace nfl::analytics::eval
