#pragma once
// Training checkpoints under DATA_DIR/checkpoints/<task_id>/checkpoint.json: the full
// optimiser state, so a reclaimed task resumes where the last attempt stopped and ends
// with the same weights as an uninterrupted run. Versioned (format + version line),
// written to a temporary file and renamed, never half-written.
#include <filesystem>
#include <optional>
#include <string>

#include "analytics/training/model.hpp"

namespace nfl::analytics::training {

inline constexpr int k_checkpoint_version = 1;

// `fingerprint` ties a checkpoint to the run that wrote it (config and data): a
// checkpoint with another fingerprint is not resumed.
void save_checkpoint(const std::filesystem::path& file, const std::string& fingerprint, const TrainState& state);

// nullopt when the file is missing or belongs to another run (`why` says which);
// throws InputError when the file is unreadable or of an unknown version.
std::optional<TrainState> load_checkpoint(const std::filesystem::path& file, const std::string& fingerprint,
                                          Eigen::Index parameter_count, std::string* why = nullptr);

} // namespace nfl::analytics::training
