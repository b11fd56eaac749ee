#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace nfl {

// Writes `contents` to `path` so that readers (and sync tools) see either the old
// file or the complete new one: write to a hidden temp name in the same folder,
// fsync, rename, fsync the folder. Throws std::system_error on failure; the temp
// file is removed.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// Appends and fsyncs (used by spools and JSON Lines segments).
void append_file_durable(const std::filesystem::path& path, std::string_view contents);

std::string read_file(const std::filesystem::path& path);

} // namespace nfl
