#pragma once
// The training set of the win-probability models: one row per played game (ties
// left out) with the engineered pre-game features (analytics/data/features.hpp),
// standardised with the training rows' mean and spread. Games of `valid_from_season`
// and later form the validation set, so validation is always out of time.
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "analytics/data/features.hpp"
#include "analytics/data/games.hpp"

namespace nfl::analytics::training {

struct TrainingData {
  std::vector<std::string> feature_names;
  Eigen::MatrixXd train_x;
  Eigen::VectorXd train_y; // 1: home win, 0: away win
  Eigen::MatrixXd valid_x;
  Eigen::VectorXd valid_y;
  Eigen::VectorXd mean;  // per feature, of the raw training rows
  Eigen::VectorXd scale; // standard deviation (1 where constant)
  int valid_from_season = 0;
  int skipped = 0; // played games without enough history or lines
};

// Rows need both teams' form (at least one earlier game) and the spread and total
// lines. Throws InputError when the training set comes out empty.
TrainingData build_training_data(const std::vector<Game>& games, const data::FeatureParams& params,
                                 int valid_from_season);

} // namespace nfl::analytics::training
