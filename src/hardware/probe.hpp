#pragma once
// The outside world that hardware detection reads, behind an interface (after ninja's
// DiskInterface) so tests can feed fake /proc files, uname, nvidia-smi output and NVML
// answers and check the profile and queue logic without the hardware.
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nfl {

struct GpuInfo {
  std::string name;
  double memory_total_gib = 0.0;
  double memory_free_gib = 0.0;
  std::string source; // nvml | nvidia-smi | sysctl (Apple, unified memory)
};

struct UnameInfo {
  std::string sysname;  // Linux, Darwin
  std::string release;  // kernel release
  std::string machine;  // x86_64, aarch64, arm64
  std::string nodename; // host name
};

class SystemProbe {
public:
  virtual ~SystemProbe() = default;
  // Contents of a file, or nullopt when it cannot be read.
  virtual std::optional<std::string> read_file(const std::string& path) const = 0;
  // Runs argv (never through a shell) and returns its stdout when it exits 0; nullopt
  // when the program is missing, fails, or runs past a few seconds.
  virtual std::optional<std::string> run(const std::vector<std::string>& argv) const = 0;
  virtual UnameInfo uname() const = 0;
  // CPUs this process may run on (affinity, so container CPU sets count).
  virtual int cpu_count() const = 0;
  // GPUs through NVML; nullopt when the library or driver is not there (then the
  // caller falls back to nvidia-smi). An empty vector means NVML answered: no GPU.
  virtual std::optional<std::vector<GpuInfo>> nvml_gpus() const = 0;
  // A sysctl value by name (macOS); nullopt elsewhere or when unknown.
  virtual std::optional<std::string> sysctl(const std::string& name) const = 0;
};

// The real machine: /proc, uname(2), sched_getaffinity, dlopen("libnvidia-ml.so.1").
std::unique_ptr<SystemProbe> make_system_probe();

} // namespace nfl
