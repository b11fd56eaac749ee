// The real SystemProbe. NVML is loaded at run time so that one binary runs on
// machines with and without an NVIDIA driver.
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#ifdef __APPLE__
#include <sys/sysctl.h>
#include <sys/types.h>
#endif

#include "hardware/probe.hpp"
#include "util/clock.hpp"

extern char** environ;

namespace nfl {
namespace {

constexpr Millis k_command_timeout_ms = 5000;

// NVML's C API, declared here because the header ships with the CUDA toolkit, which
// the build machine need not have. Signatures from nvml.h (stable since NVML 4).
using NvmlReturn = int;
using NvmlDevice = void*;
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr NvmlReturn k_nvml_success = 0;
constexpr unsigned k_nvml_name_length = 96;

class DlHandle {
public:
  explicit DlHandle(const char* name) : m_handle(::dlopen(name, RTLD_NOW | RTLD_LOCAL)) {}
  ~DlHandle() {
    if (m_handle) {
      ::dlclose(m_handle);
    }
  }
  DlHandle(const DlHandle&) = delete;
  DlHandle& operator=(const DlHandle&) = delete;
  explicit operator bool() const { return m_handle != nullptr; }
  template <typename Fn> Fn symbol(const char* name) const {
    return reinterpret_cast<Fn>(::dlsym(m_handle, name));
  }

private:
  void* m_handle;
};

std::optional<std::vector<GpuInfo>> query_nvml() {
  DlHandle lib("libnvidia-ml.so.1");
  if (!lib) {
    return std::nullopt;
  }
  auto init = lib.symbol<NvmlReturn (*)()>("nvmlInit_v2");
  auto shutdown = lib.symbol<NvmlReturn (*)()>("nvmlShutdown");
  auto count_fn = lib.symbol<NvmlReturn (*)(unsigned*)>("nvmlDeviceGetCount_v2");
  auto handle_fn = lib.symbol<NvmlReturn (*)(unsigned, NvmlDevice*)>("nvmlDeviceGetHandleByIndex_v2");
  auto name_fn = lib.symbol<NvmlReturn (*)(NvmlDevice, char*, unsigned)>("nvmlDeviceGetName");
  auto memory_fn = lib.symbol<NvmlReturn (*)(NvmlDevice, NvmlMemory*)>("nvmlDeviceGetMemoryInfo");
  if (!init || !shutdown || !count_fn || !handle_fn || !name_fn || !memory_fn) {
    return std::nullopt;
  }
  // A library without a loaded kernel driver fails here: fall back to nvidia-smi.
  if (init() != k_nvml_success) {
    return std::nullopt;
  }
  std::optional<std::vector<GpuInfo>> out;
  unsigned count = 0;
  if (count_fn(&count) == k_nvml_success) {
    out.emplace();
    for (unsigned i = 0; i < count; ++i) {
      NvmlDevice device = nullptr;
      if (handle_fn(i, &device) != k_nvml_success) {
        continue;
      }
      char name[k_nvml_name_length] = {};
      NvmlMemory memory{};
      GpuInfo g;
      g.name = name_fn(device, name, k_nvml_name_length) == k_nvml_success ? name : "NVIDIA GPU";
      if (memory_fn(device, &memory) == k_nvml_success) {
        g.memory_total_gib = static_cast<double>(memory.total) / (1024.0 * 1024.0 * 1024.0);
        g.memory_free_gib = static_cast<double>(memory.free) / (1024.0 * 1024.0 * 1024.0);
      }
      g.source = "nvml";
      out->push_back(g);
    }
  }
  shutdown();
  return out;
}

class RealProbe final : public SystemProbe {
public:
  std::optional<std::string> read_file(const std::string& path) const override {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::optional<std::string> run(const std::vector<std::string>& argv) const override {
    int fds[2];
    if (argv.empty() || ::pipe(fds) != 0) {
      return std::nullopt;
    }
    ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      return std::nullopt;
    }
    std::string out;
    bool timed_out = false;
    Millis deadline = monotonic_ms() + k_command_timeout_ms;
    for (;;) {
      Millis left = deadline - monotonic_ms();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      pollfd p{fds[0], POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) {
        continue;
      }
      if (ready <= 0) {
        timed_out = ready == 0;
        break;
      }
      char buf[4096];
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    if (timed_out) {
      // A wedged driver can hang nvidia-smi; we started it, so we stop it.
      ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return std::nullopt;
    }
    return out;
  }

  UnameInfo uname() const override {
    struct utsname u {};
    UnameInfo out;
    if (::uname(&u) == 0) {
      out.sysname = u.sysname;
      out.release = u.release;
      out.machine = u.machine;
      out.nodename = u.nodename;
    }
    return out;
  }

  int cpu_count() const override {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
      int n = CPU_COUNT(&set);
      if (n > 0) {
        return n;
      }
    }
#endif
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
  }

  std::optional<std::vector<GpuInfo>> nvml_gpus() const override { return query_nvml(); }

  std::optional<std::string> sysctl(const std::string& name) const override {
#ifdef __APPLE__
    std::size_t size = 0;
    if (::sysctlbyname(name.c_str(), nullptr, &size, nullptr, 0) != 0 || size == 0) {
      return std::nullopt;
    }
    std::string buf(size, '\0');
    if (::sysctlbyname(name.c_str(), buf.data(), &size, nullptr, 0) != 0) {
      return std::nullopt;
    }
    // Integers come back as raw bytes; strings NUL-terminated.
    if (name == "hw.memsize") {
      std::uint64_t v = 0;
      std::memcpy(&v, buf.data(), std::min(size, sizeof v));
      return std::to_string(v);
    }
    if (name == "hw.ncpu" || name == "hw.optional.arm64") {
      std::int32_t v = 0;
      std::memcpy(&v, buf.data(), std::min(size, sizeof v));
      return std::to_string(v);
    }
    buf.resize(size);
    while (!buf.empty() && buf.back() == '\0') {
      buf.pop_back();
    }
    return buf;
#else
    (void)name;
    return std::nullopt;
#endif
  }
};

} // namespace

std::unique_ptr<SystemProbe> make_system_probe() { return std::make_unique<RealProbe>(); }

} // namespace nfl
