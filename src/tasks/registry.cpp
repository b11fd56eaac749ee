#include "tasks/registry.hpp"

#include <system_error>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/ids.hpp"

namespace nfl {

void TaskRegistry::add(TaskType type) {
  if (type.name.empty() || !type.run) {
    throw InternalError("task type registration needs a name and a run function");
  }
  auto name = type.name;
  if (!m_types.emplace(name, std::move(type)).second) {
    throw InternalError("task type '" + name + "' is registered twice");
  }
}

const TaskType* TaskRegistry::find(const std::string& name) const {
  auto it = m_types.find(name);
  return it == m_types.end() ? nullptr : &it->second;
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(m_types.size());
  for (const auto& [name, type] : m_types) {
    out.push_back(name);
  }
  return out;
}

std::filesystem::path TaskContext::input_dir(const std::string& dependency_id) const {
  if (auto problem = id_problem(dependency_id); !problem.empty()) {
    throw InputError("input_dir: dependency id '" + dependency_id + "': " + problem);
  }
  auto dir = data_dir / "artifacts" / dependency_id;
  auto manifest_path = dir / "manifest.json";
  std::error_code ec;
  if (!std::filesystem::exists(manifest_path, ec)) {
    throw WaitingForInput("artifacts of " + dependency_id + " not here yet (" + manifest_path.string() + ")");
  }
  // The manifest is written last, but a sync tool may deliver it before the files it
  // lists: every file must be present with its final size.
  Json manifest;
  try {
    manifest = Json::parse(read_file(manifest_path));
  } catch (const std::exception&) {
    throw WaitingForInput("manifest of " + dependency_id + " is incomplete (" + manifest_path.string() + ")");
  }
  const Json files = manifest.value("files", Json::object()); // items() must not outlive it
  for (const auto& [name, entry] : files.items()) {
    auto size = std::filesystem::file_size(dir / name, ec);
    if (ec || size != entry.value("size", std::uintmax_t{0})) {
      throw WaitingForInput("artifact " + dependency_id + "/" + name + " not complete yet");
    }
  }
  return dir;
}

namespace {

void check_artifact_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 200 && name.front() != '.' && name != "manifest.json";
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                   c == '-' || c == '.';
    ok = ok && allowed;
  }
  if (!ok) {
    throw InputError("artifact name '" + name +
                     "': expected 1-200 characters of [A-Za-z0-9_.-], not starting with '.', not manifest.json");
  }
}

} // namespace

Json write_artifacts(const TaskContext& ctx, const std::map<std::string, std::string>& files) {
  for (const auto& [name, bytes] : files) {
    check_artifact_name(name);
  }
  // A previous attempt may have left a manifest: remove it first so that readers
  // never pair an old manifest with new files.
  std::error_code ec;
  std::filesystem::remove(ctx.artifact_dir / "manifest.json", ec);
  Json listed = Json::object();
  for (const auto& [name, bytes] : files) {
    write_file_atomic(ctx.artifact_dir / name, bytes);
    listed[name] = {{"sha256", sha256_hex(bytes)}, {"size", bytes.size()}};
  }
  Json manifest = {{"task_id", ctx.task.id}, {"task_type", ctx.task.task_type}, {"files", listed}};
  write_file_atomic(ctx.artifact_dir / "manifest.json", manifest.dump(2) + "\n");
  return {{"dir", "artifacts/" + ctx.task.id}, {"files", listed}};
}

} // namespace nfl
