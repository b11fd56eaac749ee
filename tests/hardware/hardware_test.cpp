#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <thread>

#include "hardware/hardware.hpp"

using namespace nfl;

namespace {

// A machine described by its files and command outputs; records what was run.
class FakeProbe final : public SystemProbe {
public:
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> commands; // argv[0] -> stdout (absent: not installed)
  std::map<std::string, std::string> sysctls;
  UnameInfo u{"Linux", "6.1.0", "x86_64", "Box-A.local"};
  int cores = 4;
  std::optional<std::vector<GpuInfo>> nvml;
  mutable std::vector<std::string> ran;

  std::optional<std::string> read_file(const std::string& path) const override {
    auto it = files.find(path);
    return it == files.end() ? std::nullopt : std::optional(it->second);
  }
  std::optional<std::string> run(const std::vector<std::string>& argv) const override {
    ran.push_back(argv.at(0));
    auto it = commands.find(argv.at(0));
    return it == commands.end() ? std::nullopt : std::optional(it->second);
  }
  UnameInfo uname() const override { return u; }
  int cpu_count() const override { return cores; }
  std::optional<std::vector<GpuInfo>> nvml_gpus() const override { return nvml; }
  std::optional<std::string> sysctl(const std::string& name) const override {
    auto it = sysctls.find(name);
    return it == sysctls.end() ? std::nullopt : std::optional(it->second);
  }
};

const char* k_meminfo = "MemTotal:       32768000 kB\nMemFree:         1000000 kB\nMemAvailable:   16384000 kB\n"
                        "Buffers:          123456 kB\n";

Config config_with(std::string profile = "auto", std::string machine_id = "auto") {
  Config c;
  c.hardware_profile = std::move(profile);
  c.machine_id = std::move(machine_id);
  return c;
}

GpuInfo gpu(double gib) {
  GpuInfo g;
  g.name = "Fake GPU";
  g.memory_total_gib = gib;
  g.memory_free_gib = gib;
  g.source = "nvml";
  return g;
}

} // namespace

TEST(HardwareParse, Meminfo) {
  auto [total, available] = parse_meminfo(k_meminfo);
  EXPECT_NEAR(total, 32768000.0 / 1048576.0, 1e-9);
  EXPECT_NEAR(available, 16384000.0 / 1048576.0, 1e-9);
  // Old kernels: no MemAvailable, MemFree stands in.
  auto [t2, a2] = parse_meminfo("MemTotal: 2097152 kB\nMemFree: 1048576 kB\n");
  EXPECT_DOUBLE_EQ(t2, 2.0);
  EXPECT_DOUBLE_EQ(a2, 1.0);
}

TEST(HardwareParse, NvidiaSmiCsv) {
  auto gpus = parse_nvidia_smi("NVIDIA GeForce RTX 4090, 24564, 23000\n"
                               "Tesla T4, 15360, 15000\r\n"
                               "garbage line\n"
                               "NVIDIA A100-SXM4-80GB, [N/A], 1\n"
                               "Odd, Name, With Comma, 8192, 100\n");
  ASSERT_EQ(gpus.size(), 3u);
  EXPECT_EQ(gpus[0].name, "NVIDIA GeForce RTX 4090");
  EXPECT_NEAR(gpus[0].memory_total_gib, 24564.0 / 1024.0, 1e-9);
  EXPECT_NEAR(gpus[0].memory_free_gib, 23000.0 / 1024.0, 1e-9);
  EXPECT_EQ(gpus[0].source, "nvidia-smi");
  EXPECT_EQ(gpus[1].name, "Tesla T4");
  EXPECT_DOUBLE_EQ(gpus[1].memory_total_gib, 15.0);
  EXPECT_EQ(gpus[2].name, "Odd, Name, With Comma");
  EXPECT_DOUBLE_EQ(gpus[2].memory_total_gib, 8.0);
  EXPECT_TRUE(parse_nvidia_smi("").empty());
}

TEST(HardwareDetect, LinuxWithoutGpuReadsProcAndTriesNvidiaSmi) {
  FakeProbe p;
  p.files["/proc/meminfo"] = k_meminfo;
  p.files["/etc/os-release"] = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
  p.cores = 2;
  auto hw = detect_hardware(p);
  EXPECT_EQ(hw.hostname, "Box-A.local");
  EXPECT_EQ(hw.os, "Linux");
  EXPECT_EQ(hw.os_name, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(hw.arch, "x86_64");
  EXPECT_EQ(hw.cpu_cores, 2);
  EXPECT_NEAR(hw.memory_gib, 31.25, 1e-9);
  EXPECT_TRUE(hw.gpus.empty());
  EXPECT_EQ(hw.gpu_source, "none");
  // NVML was absent, so the fallback was tried.
  ASSERT_EQ(p.ran.size(), 1u);
  EXPECT_EQ(p.ran[0], "nvidia-smi");
  EXPECT_EQ(detect_profile(hw), "cpu_x86");
  EXPECT_EQ(served_queues(hw), (std::vector<std::string>{"cpu:sequential", "data:pipeline", "analysis:standard"}));
}

TEST(HardwareDetect, NvmlWinsOverNvidiaSmi) {
  FakeProbe p;
  p.nvml = std::vector<GpuInfo>{gpu(80.0)};
  p.commands["nvidia-smi"] = "Tesla T4, 15360, 15000\n";
  auto hw = detect_hardware(p);
  ASSERT_EQ(hw.gpus.size(), 1u);
  EXPECT_EQ(hw.gpu_source, "nvml");
  EXPECT_DOUBLE_EQ(hw.gpus[0].memory_total_gib, 80.0);
  EXPECT_TRUE(p.ran.empty());
}

TEST(HardwareDetect, NvidiaSmiFallbackWhenNvmlMissing) {
  FakeProbe p;
  p.cores = 16;
  p.commands["nvidia-smi"] = "NVIDIA GeForce RTX 3080, 10240, 9000\n";
  auto hw = detect_hardware(p);
  EXPECT_EQ(hw.gpu_source, "nvidia-smi");
  EXPECT_EQ(detect_profile(hw), "gpu_standard");
  EXPECT_EQ(served_queues(hw), (std::vector<std::string>{"gpu:high", "gpu:standard", "cpu:parallel", "cpu:sequential",
                                                         "data:pipeline", "analysis:standard"}));
}

TEST(HardwareProfile, FollowsTheSeedThresholds) {
  HardwareInfo hw;
  hw.arch = "x86_64";
  hw.cpu_cores = 4;
  EXPECT_EQ(detect_profile(hw), "cpu_x86");
  hw.gpus = {gpu(24.0)};
  EXPECT_EQ(detect_profile(hw), "gpu_high");
  hw.gpus = {gpu(16.0)}; // "> 16 GiB" is strict
  EXPECT_EQ(detect_profile(hw), "gpu_standard");
  hw.gpus = {gpu(6.0)};
  EXPECT_EQ(detect_profile(hw), "gpu_standard");
  // Exactly 8 GiB does not reach gpu:high (the seed's "> 8").
  hw.gpus = {gpu(8.0)};
  EXPECT_EQ(served_queues(hw), (std::vector<std::string>{"gpu:standard", "cpu:sequential", "data:pipeline",
                                                         "analysis:standard"}));
  // The largest GPU decides.
  hw.gpus = {gpu(6.0), gpu(40.0)};
  EXPECT_EQ(detect_profile(hw), "gpu_high");
  EXPECT_EQ(served_queues(hw).front(), "gpu:high");

  HardwareInfo arm;
  arm.arch = "aarch64";
  arm.cpu_cores = 8;
  EXPECT_EQ(detect_profile(arm), "cpu_arm_high");
  arm.cpu_cores = 7;
  EXPECT_EQ(detect_profile(arm), "cpu_x86");
  arm.cpu_cores = 5; // more than 4 cores serves cpu:parallel
  EXPECT_EQ(served_queues(arm).front(), "cpu:parallel");
}

TEST(HardwareDetect, AppleSiliconThroughSysctl) {
  FakeProbe p;
  p.u = {"Darwin", "23.1.0", "arm64", "Studio"};
  p.cores = 1; // sysctl hw.ncpu is the source on macOS
  p.sysctls = {{"hw.memsize", "68719476736"},
               {"hw.ncpu", "12"},
               {"machdep.cpu.brand_string", "Apple M2 Max"},
               {"kern.osproductversion", "14.1"},
               {"hw.optional.arm64", "1"}};
  auto hw = detect_hardware(p);
  EXPECT_TRUE(hw.apple_silicon);
  EXPECT_EQ(hw.apple_chip, "Apple M2 Max");
  EXPECT_EQ(hw.cpu_cores, 12);
  EXPECT_DOUBLE_EQ(hw.memory_gib, 64.0);
  EXPECT_EQ(hw.os_name, "macOS 14.1");
  EXPECT_EQ(detect_profile(hw), "cpu_arm_high");
  EXPECT_EQ(hardware_to_json(hw)["apple_chip"], "Apple M2 Max");
}

TEST(HardwareIdentity, OverridesAndSanitisedIds) {
  HardwareInfo hw;
  hw.hostname = "Box-A.Local";
  hw.arch = "x86_64";
  hw.cpu_cores = 2;
  auto id = resolve_identity(config_with(), hw);
  EXPECT_EQ(id.machine_id, "box-a.local");
  EXPECT_FALSE(id.machine_id_overridden);
  EXPECT_EQ(id.profile, "cpu_x86");
  EXPECT_FALSE(id.profile_overridden);

  id = resolve_identity(config_with("gpu_high", "Rig_7"), hw);
  EXPECT_EQ(id.machine_id, "rig_7");
  EXPECT_TRUE(id.profile_overridden);
  EXPECT_EQ(id.detected_profile, "cpu_x86");
  EXPECT_EQ(id.queues, (std::vector<std::string>{"gpu:high", "gpu:standard", "cpu:sequential", "data:pipeline",
                                                 "analysis:standard"}));
  id = resolve_identity(config_with("gpu_standard"), hw);
  EXPECT_EQ(id.queues.front(), "gpu:standard");
  EXPECT_EQ(id.queues.size(), 4u);
  id = resolve_identity(config_with("cpu_arm_high"), hw);
  EXPECT_EQ(id.queues.front(), "cpu:parallel");
  // A GPU machine forced to a CPU profile keeps off the GPU queues.
  hw.gpus = {gpu(24.0)};
  id = resolve_identity(config_with("cpu_x86"), hw);
  EXPECT_EQ(id.queues, (std::vector<std::string>{"cpu:sequential", "data:pipeline", "analysis:standard"}));

  EXPECT_EQ(sanitise_machine_id("..My Host!"), "my-host");
  EXPECT_EQ(sanitise_machine_id(""), "machine");
  EXPECT_EQ(sanitise_machine_id(std::string(100, 'a')).size(), 64u);
}

TEST(HardwareReal, DetectsThisMachine) {
  auto probe = make_system_probe();
  auto hw = detect_hardware(*probe);
  EXPECT_FALSE(hw.hostname.empty());
  EXPECT_FALSE(hw.arch.empty());
  EXPECT_EQ(hw.cpu_cores, std::max(1, probe->cpu_count()));
  EXPECT_GE(hw.cpu_cores, 1);
#ifdef __linux__
  EXPECT_EQ(hw.os, "Linux");
  // Same number the kernel gives, read independently.
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  meminfo >> key >> kib;
  ASSERT_EQ(key, "MemTotal:");
  EXPECT_NEAR(hw.memory_gib, kib / 1048576.0, 1e-6);
#endif
  // Without a driver NVML must report absence, not crash; with one, GPUs have memory.
  for (const auto& g : hw.gpus) {
    EXPECT_GT(g.memory_total_gib, 0.0);
  }
  auto id = resolve_identity(Config{}, hw);
  EXPECT_TRUE(is_known_profile(id.profile));
  EXPECT_EQ(id.queues.back(), "analysis:standard");
}

TEST(HardwareReal, RunCapturesStdoutAndReportsFailure) {
  auto probe = make_system_probe();
  EXPECT_EQ(probe->run({"printf", "a,b\\n"}).value_or("missing"), "a,b\n");
  EXPECT_FALSE(probe->run({"false"}).has_value());
  EXPECT_FALSE(probe->run({"/nonexistent/nvidia-smi-xyz"}).has_value());
}
