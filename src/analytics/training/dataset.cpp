#include "analytics/training/dataset.hpp"

#include <cmath>

#include <fmt/format.h>

#include "util/error.hpp"

namespace nfl::analytics::training {

TrainingData build_training_data(const std::vector<Game>& games, const data::FeatureParams& params,
                                 int valid_from_season) {
  TrainingData d;
  d.valid_from_season = valid_from_season;
  d.feature_names = {"rest_diff",        "home_point_diff", "away_point_diff", "home_points_for",
                     "home_points_against", "away_points_for", "away_points_against", "div_game",
                     "neutral",          "spread_line",     "total_line"};
  const auto features = data::compute_features(games, params);
  std::vector<std::vector<double>> train_rows;
  std::vector<std::vector<double>> valid_rows;
  std::vector<double> train_y;
  std::vector<double> valid_y;
  for (const auto& f : features) {
    const Game& g = *f.game;
    if (!g.played() || g.result() == 0) {
      continue;
    }
    if (f.home.games == 0 || f.away.games == 0 || !f.spread_line || !f.total_line) {
      ++d.skipped;
      continue;
    }
    std::vector<double> row = {static_cast<double>(f.rest_diff),
                               *f.home.point_diff,
                               *f.away.point_diff,
                               *f.home.points_for,
                               *f.home.points_against,
                               *f.away.points_for,
                               *f.away.points_against,
                               f.div_game ? 1.0 : 0.0,
                               g.neutral ? 1.0 : 0.0,
                               *f.spread_line,
                               *f.total_line};
    const double outcome = g.result() > 0 ? 1.0 : 0.0;
    if (g.season >= valid_from_season) {
      valid_rows.push_back(std::move(row));
      valid_y.push_back(outcome);
    } else {
      train_rows.push_back(std::move(row));
      train_y.push_back(outcome);
    }
  }
  if (train_rows.empty()) {
    throw InputError(fmt::format("valid_from_season: {} leaves no training games before it", valid_from_season));
  }
  const auto cols = static_cast<Eigen::Index>(d.feature_names.size());
  const auto to_matrix = [cols](const std::vector<std::vector<double>>& rows) {
    Eigen::MatrixXd m(static_cast<Eigen::Index>(rows.size()), cols);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      for (Eigen::Index j = 0; j < cols; ++j) {
        m(static_cast<Eigen::Index>(i), j) = rows[i][static_cast<std::size_t>(j)];
      }
    }
    return m;
  };
  d.train_x = to_matrix(train_rows);
  d.valid_x = to_matrix(valid_rows);
  d.train_y = Eigen::Map<const Eigen::VectorXd>(train_y.data(), static_cast<Eigen::Index>(train_y.size()));
  d.valid_y = Eigen::Map<const Eigen::VectorXd>(valid_y.data(), static_cast<Eigen::Index>(valid_y.size()));
  d.mean = d.train_x.colwise().mean().transpose();
  d.scale.resize(cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    const double var = (d.train_x.col(j).array() - d.mean(j)).square().mean();
    d.scale(j) = var > 1e-12 ? std::sqrt(var) : 1.0;
  }
  const auto standardise = [&](Eigen::MatrixXd& m) {
    m = (m.rowwise() - d.mean.transpose()).array().rowwise() / d.scale.transpose().array();
  };
  standardise(d.train_x);
  if (d.valid_x.rows() > 0) {
    standardise(d.valid_x);
  }
  return d;
}

} // namespace nfl::analytics::training
