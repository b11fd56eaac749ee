#include "hardware/hardware.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>


namespace nfl {
namespace {

constexpr double k_kib_per_gib = 1024.0 * 1024.0;
constexpr double k_mib_per_gib = 1024.0;

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n\"");
  if (b == std::string_view::npos) {
    return {};
  }
  auto e = s.find_last_not_of(" \t\r\n\"");
  return std::string(s.substr(b, e - b + 1));
}

std::optional<double> parse_number(const std::string& text) {
  auto t = trim(text);
  if (t.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) {
    return std::nullopt;
  }
  return v;
}

std::string os_pretty_name(const SystemProbe& probe) {
  auto text = probe.read_file("/etc/os-release");
  if (!text) {
    return {};
  }
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      return trim(line.substr(12));
    }
  }
  return {};
}

void detect_apple(const SystemProbe& probe, HardwareInfo& hw) {
  if (auto bytes = probe.sysctl("hw.memsize")) {
    if (auto v = parse_number(*bytes)) {
      hw.memory_gib = *v / (k_kib_per_gib * 1024.0);
    }
  }
  if (auto ncpu = probe.sysctl("hw.ncpu")) {
    if (auto v = parse_number(*ncpu); v && *v >= 1) {
      hw.cpu_cores = static_cast<int>(*v);
    }
  }
  if (auto version = probe.sysctl("kern.osproductversion")) {
    hw.os_name = "macOS " + trim(*version);
  }
  auto brand = probe.sysctl("machdep.cpu.brand_string").value_or("");
  // arm64 under Rosetta reports x86_64 from uname; hw.optional.arm64 tells the truth.
  bool arm = hw.arch == "arm64" || trim(probe.sysctl("hw.optional.arm64").value_or("0")) == "1";
  if (arm) {
    hw.apple_silicon = true;
    hw.arch = "arm64";
    hw.apple_chip = trim(brand);
  }
}

} // namespace

bool HardwareInfo::is_arm() const {
  return arch == "aarch64" || arch == "arm64" || arch.rfind("armv", 0) == 0;
}

double HardwareInfo::max_gpu_memory_gib() const {
  double best = 0.0;
  for (const auto& g : gpus) {
    best = std::max(best, g.memory_total_gib);
  }
  return best;
}

bool is_known_profile(std::string_view profile) {
  return std::find(k_profiles.begin(), k_profiles.end(), profile) != k_profiles.end();
}

std::pair<double, double> parse_meminfo(const std::string& text) {
  double total = 0.0;
  double available = -1.0;
  double free_kib = 0.0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    auto key = line.substr(0, colon);
    std::istringstream value(line.substr(colon + 1));
    double kib = 0.0;
    if (!(value >> kib)) {
      continue;
    }
    if (key == "MemTotal") {
      total = kib / k_kib_per_gib;
    } else if (key == "MemAvailable") {
      available = kib / k_kib_per_gib;
    } else if (key == "MemFree") {
      free_kib = kib;
    }
  }
  // Kernels before 3.14 have no MemAvailable; MemFree understates but is honest.
  if (available < 0) {
    available = free_kib / k_kib_per_gib;
  }
  return {total, available};
}

std::vector<GpuInfo> parse_nvidia_smi(const std::string& text) {
  std::vector<GpuInfo> gpus;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // Split from the right: a GPU name could contain a comma, the numbers cannot.
    auto last = line.rfind(',');
    if (last == std::string::npos) {
      continue;
    }
    auto middle = line.rfind(',', last == 0 ? 0 : last - 1);
    if (middle == std::string::npos || middle == last) {
      continue;
    }
    auto name = trim(line.substr(0, middle));
    auto total = parse_number(line.substr(middle + 1, last - middle - 1));
    auto free = parse_number(line.substr(last + 1));
    if (name.empty() || !total || *total <= 0) {
      continue;
    }
    GpuInfo g;
    g.name = name;
    g.memory_total_gib = *total / k_mib_per_gib;
    g.memory_free_gib = free ? *free / k_mib_per_gib : 0.0;
    g.source = "nvidia-smi";
    gpus.push_back(g);
  }
  return gpus;
}

HardwareInfo detect_hardware(const SystemProbe& probe) {
  HardwareInfo hw;
  auto u = probe.uname();
  hw.hostname = u.nodename;
  hw.os = u.sysname;
  hw.os_release = u.release;
  hw.arch = u.machine;
  hw.cpu_cores = std::max(1, probe.cpu_count());
  if (u.sysname == "Darwin") {
    detect_apple(probe, hw);
    hw.memory_available_gib = 0.0;
  } else {
    hw.os_name = os_pretty_name(probe);
    if (auto meminfo = probe.read_file("/proc/meminfo")) {
      std::tie(hw.memory_gib, hw.memory_available_gib) = parse_meminfo(*meminfo);
    }
  }
  hw.gpu_source = "none";
  if (auto nvml = probe.nvml_gpus()) {
    hw.gpus = *nvml;
    hw.gpu_source = "nvml";
  } else if (auto smi = probe.run({"nvidia-smi", "--query-gpu=name,memory.total,memory.free",
                                   "--format=csv,noheader,nounits"})) {
    hw.gpus = parse_nvidia_smi(*smi);
    hw.gpu_source = "nvidia-smi";
  }
  return hw;
}

std::string detect_profile(const HardwareInfo& hw) {
  if (!hw.gpus.empty()) {
    return hw.max_gpu_memory_gib() > 16.0 ? "gpu_high" : "gpu_standard";
  }
  if (hw.is_arm() && hw.cpu_cores >= 8) {
    return "cpu_arm_high";
  }
  return "cpu_x86";
}

namespace {
void add_cpu_queues(std::vector<std::string>& queues, bool parallel) {
  if (parallel) {
    queues.emplace_back("cpu:parallel");
  }
  queues.emplace_back("cpu:sequential");
  queues.emplace_back("data:pipeline");
  queues.emplace_back("analysis:standard");
}
} // namespace

std::vector<std::string> served_queues(const HardwareInfo& hw) {
  std::vector<std::string> queues;
  if (hw.max_gpu_memory_gib() > 8.0) {
    queues.emplace_back("gpu:high");
  }
  if (!hw.gpus.empty()) {
    queues.emplace_back("gpu:standard");
  }
  add_cpu_queues(queues, hw.cpu_cores > 4);
  return queues;
}

std::vector<std::string> queues_for_profile(std::string_view profile, const HardwareInfo& hw) {
  std::vector<std::string> queues;
  if (profile == "gpu_high") {
    queues.emplace_back("gpu:high");
  }
  if (profile == "gpu_high" || profile == "gpu_standard") {
    queues.emplace_back("gpu:standard");
  }
  add_cpu_queues(queues, hw.cpu_cores > 4 || profile == "cpu_arm_high");
  return queues;
}

std::string sanitise_machine_id(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= 64) {
      break;
    }
    char l = static_cast<char>(std::tolower(c));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '.' || l == '-';
    out.push_back(ok ? l : '-');
  }
  auto start = out.find_first_not_of(".-");
  out = start == std::string::npos ? std::string() : out.substr(start);
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) {
    out.pop_back();
  }
  return out.empty() ? "machine" : out;
}

MachineIdentity resolve_identity(const Config& config, const HardwareInfo& hw) {
  MachineIdentity id;
  id.hardware = hw;
  id.machine_id_overridden = config.machine_id != "auto";
  id.machine_id = sanitise_machine_id(id.machine_id_overridden ? config.machine_id : hw.hostname);
  id.detected_profile = detect_profile(hw);
  id.profile_overridden = config.hardware_profile != "auto";
  if (id.profile_overridden) {
    id.profile = config.hardware_profile;
    id.queues = queues_for_profile(id.profile, hw);
  } else {
    id.profile = id.detected_profile;
    id.queues = served_queues(hw);
  }
  return id;
}

MachineIdentity detect_identity(const Config& config) {
  auto probe = make_system_probe();
  return resolve_identity(config, detect_hardware(*probe));
}

nlohmann::json hardware_to_json(const HardwareInfo& hw) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& g : hw.gpus) {
    gpus.push_back({{"name", g.name},
                    {"memory_total_gib", g.memory_total_gib},
                    {"memory_free_gib", g.memory_free_gib},
                    {"source", g.source}});
  }
  nlohmann::json j = {{"hostname", hw.hostname},
                      {"os", hw.os},
                      {"os_release", hw.os_release},
                      {"os_name", hw.os_name},
                      {"arch", hw.arch},
                      {"cpu_cores", hw.cpu_cores},
                      {"memory_gib", hw.memory_gib},
                      {"memory_available_gib", hw.memory_available_gib},
                      {"gpus", gpus},
                      {"gpu_source", hw.gpu_source},
                      {"max_gpu_memory_gib", hw.max_gpu_memory_gib()},
                      {"apple_silicon", hw.apple_silicon}};
  if (hw.apple_silicon) {
    j["apple_chip"] = hw.apple_chip;
  }
  return j;
}

nlohmann::json identity_to_json(const MachineIdentity& id) {
  return {{"machine_id", id.machine_id},
          {"machine_id_source", id.machine_id_overridden ? "MACHINE_ID" : "hostname"},
          {"profile", id.profile},
          {"profile_source", id.profile_overridden ? "HARDWARE_PROFILE" : "detected"},
          {"detected_profile", id.detected_profile},
          {"queues", id.queues},
          {"hardware", hardware_to_json(id.hardware)}};
}

} // namespace nfl
