#pragma once
// What this machine is (cores, memory, GPUs), which profile it has and which queues it
// serves, following the seed's rules. Detection reads the world through SystemProbe.
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "hardware/probe.hpp"

namespace nfl {

struct HardwareInfo {
  std::string hostname;
  std::string os;         // "Linux", "Darwin"
  std::string os_release; // kernel release
  std::string os_name;    // PRETTY_NAME from /etc/os-release, or macOS product version
  std::string arch;       // as uname says: x86_64, aarch64, arm64
  int cpu_cores = 1;
  double memory_gib = 0.0;
  double memory_available_gib = 0.0;
  std::vector<GpuInfo> gpus; // NVIDIA GPUs only; these are what the gpu:* queues mean
  std::string gpu_source;    // nvml | nvidia-smi | none
  bool apple_silicon = false;
  std::string apple_chip; // e.g. "Apple M2 Max"

  bool is_arm() const;
  // The largest GPU's memory (0 without a GPU): a task runs on one GPU.
  double max_gpu_memory_gib() const;
};

inline constexpr std::array<std::string_view, 4> k_profiles = {"gpu_high", "gpu_standard", "cpu_arm_high", "cpu_x86"};
bool is_known_profile(std::string_view profile);

HardwareInfo detect_hardware(const SystemProbe& probe);

// Parsers, exposed for tests.
// /proc/meminfo -> (MemTotal, MemAvailable) in GiB.
std::pair<double, double> parse_meminfo(const std::string& text);
// `nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits`
// (MiB). Lines that do not parse are skipped.
std::vector<GpuInfo> parse_nvidia_smi(const std::string& text);

// gpu_high (a GPU > 16 GiB), gpu_standard (any other NVIDIA GPU), cpu_arm_high (ARM
// with 8+ cores), else cpu_x86.
std::string detect_profile(const HardwareInfo& hw);
// The seed's rules, in claim order: GPU > 8 GiB -> gpu:high; any GPU -> gpu:standard;
// more than 4 cores -> cpu:parallel; then cpu:sequential, data:pipeline, analysis:standard.
std::vector<std::string> served_queues(const HardwareInfo& hw);
// When HARDWARE_PROFILE overrides detection the GPU queues follow the profile
// (gpu_high: gpu:high + gpu:standard; gpu_standard: gpu:standard; cpu_*: none) and the
// rest follows the detected cores (cpu_arm_high promises 8+ cores: cpu:parallel).
std::vector<std::string> queues_for_profile(std::string_view profile, const HardwareInfo& hw);

// Lowercase, [a-z0-9_.-] only (others become '-'), not starting with '.' or '-',
// at most 64 characters; "machine" when nothing is left.
std::string sanitise_machine_id(std::string_view text);

// Who this machine is once configuration has had its say.
struct MachineIdentity {
  std::string machine_id;
  bool machine_id_overridden = false;
  std::string profile;
  std::string detected_profile;
  bool profile_overridden = false;
  std::vector<std::string> queues;
  HardwareInfo hardware;
};

MachineIdentity resolve_identity(const Config& config, const HardwareInfo& hw);
// Detects with the real probe and applies the configuration.
MachineIdentity detect_identity(const Config& config);

nlohmann::json hardware_to_json(const HardwareInfo& hw);
nlohmann::json identity_to_json(const MachineIdentity& id);

} // namespace nfl
