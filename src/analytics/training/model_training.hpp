#pragma once
// The model_training task type (queue gpu:standard): a win-probability model
// (logistic regression or a small MLP) over the engineered features, trained by
// mini-batch gradient descent with checkpoints so a reclaimed attempt resumes.
#include "tasks/registry.hpp"

namespace nfl::analytics::training {

TaskType model_training_task();

} // namespace nfl::analytics::training
