// `exec`: runs a user's program without a shell. The task JSON goes to its stdin,
// `progress <percent> <message>` lines on stdout update progress, the last stdout
// line that is JSON is the result, stderr goes to the log. Memory stays bounded
// however much the program prints: only the current line, the last JSON line and a
// short stderr tail are kept.
//
// Policy (docs/security.md): whoever can submit tasks can run programs on the workers,
// so EXEC_ALLOWED lists the programs a worker accepts (empty: any in development,
// none in production); the program sees only a documented base environment plus what
// the task names (never the worker's secrets); it runs in a folder inside DATA_DIR.
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <stop_token>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "tasks/builtin/builtin.hpp"
#include "util/error.hpp"
#include "util/json_limits.hpp"

namespace nfl::builtin {
namespace {

constexpr std::size_t k_max_result_line = 16u << 20; // a longer stdout line is skipped
constexpr std::size_t k_max_stderr_line = 4096;      // longer stderr lines are cut for the log
constexpr std::size_t k_stderr_tail = 2048;          // what a failure message quotes
constexpr int k_max_logged_stderr_lines = 500;
constexpr std::size_t k_max_argv = 4096;
constexpr auto k_kill_grace = std::chrono::seconds(5);   // SIGTERM, then SIGKILL
constexpr auto k_drain_after_exit = std::chrono::seconds(1);

// Passed through from the worker's environment when set; nothing else is inherited.
constexpr std::array<const char*, 9> k_base_environment = {"PATH", "HOME",    "LANG", "LC_ALL", "LC_CTYPE",
                                                           "TZ",   "TMPDIR", "USER", "LOGNAME"};
constexpr const char* k_default_path = "/usr/local/bin:/usr/bin:/bin";

struct ExecSpec {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd; // relative to DATA_DIR; empty: the task's artifact folder
};

bool valid_env_name(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

ExecSpec parse_spec(const Json& config) {
  if (!config.is_object()) {
    throw InputError("config: expected a JSON object with \"argv\"");
  }
  ExecSpec spec;
  auto argv = config.find("argv");
  if (argv == config.end() || !argv->is_array() || argv->empty() || argv->size() > k_max_argv) {
    throw InputError("config.argv: expected a non-empty array of strings (program and arguments; no shell)");
  }
  for (std::size_t i = 0; i < argv->size(); ++i) {
    const auto& a = (*argv)[i];
    if (!a.is_string() || a.get_ref<const std::string&>().find('\0') != std::string::npos) {
      throw InputError(fmt::format("config.argv[{}]: expected a string without NUL bytes", i));
    }
    spec.argv.push_back(a.get<std::string>());
  }
  if (spec.argv[0].empty()) {
    throw InputError("config.argv[0]: expected the program name or path, got an empty string");
  }
  if (auto env = config.find("env"); env != config.end()) {
    if (!env->is_object()) {
      throw InputError("config.env: expected an object of NAME: \"value\" strings");
    }
    for (const auto& [name, value] : env->items()) {
      if (!valid_env_name(name)) {
        throw InputError("config.env: variable name '" + name + "'; expected [A-Za-z_][A-Za-z0-9_]*");
      }
      // The dynamic loader's variables would run any code inside an allowed program.
      if (name.rfind("LD_", 0) == 0) {
        throw InputError("config.env." + name + ": the dynamic loader's LD_* variables are not allowed");
      }
      if (!value.is_string() || value.get_ref<const std::string&>().find('\0') != std::string::npos) {
        throw InputError("config.env." + name + ": expected a string without NUL bytes");
      }
      spec.env.emplace_back(name, value.get<std::string>());
    }
  }
  if (auto cwd = config.find("cwd"); cwd != config.end()) {
    if (!cwd->is_string() || cwd->get_ref<const std::string&>().empty()) {
      throw InputError("config.cwd: expected a non-empty directory path relative to DATA_DIR");
    }
    const std::filesystem::path rel(cwd->get<std::string>());
    bool escapes = rel.is_absolute() || rel.native().find('\0') != std::string::npos;
    for (const auto& part : rel) {
      escapes = escapes || part == "..";
    }
    if (escapes) {
      throw InputError("config.cwd: '" + rel.string() + "'; expected a folder relative to DATA_DIR without '..'");
    }
    spec.cwd = rel.string();
  }
  return spec;
}

void validate(const Json& config) { parse_spec(config); }

class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      m_fd = o.m_fd;
      o.m_fd = -1;
    }
    return *this;
  }
  int get() const { return m_fd; }
  void reset() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = -1;
  }

private:
  int m_fd = -1;
};

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw TaskFailure(std::string("exec: pipe: ") + std::strerror(errno), true);
  }
  return {Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Splits a byte stream into lines, keeping at most `max_line` bytes of a line.
class LineSplitter {
public:
  explicit LineSplitter(std::size_t max_line) : m_max(max_line) {}
  template <class F> void feed(const char* data, std::size_t n, F&& on_line) {
    while (n > 0) {
      const char* nl = static_cast<const char*>(std::memchr(data, '\n', n));
      std::size_t take = nl ? static_cast<std::size_t>(nl - data) : n;
      if (!m_overflow) {
        std::size_t room = m_max - m_line.size();
        if (take > room) {
          m_line.append(data, room);
          m_overflow = true;
        } else {
          m_line.append(data, take);
        }
      }
      if (!nl) {
        return;
      }
      finish(on_line);
      data += take + 1;
      n -= take + 1;
    }
  }
  template <class F> void flush(F&& on_line) {
    if (!m_line.empty() || m_overflow) {
      finish(on_line);
    }
  }

private:
  template <class F> void finish(F&& on_line) {
    if (!m_line.empty() && m_line.back() == '\r') {
      m_line.pop_back();
    }
    on_line(m_line, m_overflow);
    m_line.clear();
    m_overflow = false;
  }
  std::size_t m_max;
  std::string m_line;
  bool m_overflow = false;
};

// The base (k_base_environment), then the task's config.env, then the NFL_* variables,
// later ones replacing earlier ones of the same name. The worker's own environment
// (REDIS_PASSWORD, DASHBOARD_TOKEN, cloud credentials ...) never reaches the program.
std::vector<std::string> child_environment(const ExecSpec& spec, const TaskContext& ctx) {
  std::map<std::string, std::string> env;
  for (const char* name : k_base_environment) {
    if (const char* value = std::getenv(name)) {
      env[name] = value;
    }
  }
  env.try_emplace("PATH", k_default_path);
  for (const auto& [name, value] : spec.env) {
    env[name] = value;
  }
  env["NFL_TASK_ID"] = ctx.task.id;
  env["NFL_DATA_DIR"] = ctx.data_dir.string();
  env["NFL_ARTIFACT_DIR"] = ctx.artifact_dir.string();
  env["NFL_CHECKPOINT_DIR"] = ctx.checkpoint_dir.string();
  std::vector<std::string> out;
  for (const auto& [name, value] : env) {
    out.push_back(name + "=" + value);
  }
  return out;
}

bool inside(const std::filesystem::path& path, const std::filesystem::path& folder) {
  auto [f, p] = std::mismatch(folder.begin(), folder.end(), path.begin(), path.end());
  return f == folder.end();
}

// The folder the program starts in: config.cwd under DATA_DIR, else the task's
// artifact folder; symbolic links may not lead it out of DATA_DIR.
std::filesystem::path working_directory(const ExecSpec& spec, const TaskContext& ctx) {
  if (ctx.data_dir.empty()) {
    throw TaskFailure("exec: no DATA_DIR to run in", false);
  }
  auto dir = spec.cwd.empty() ? ctx.artifact_dir : ctx.data_dir / spec.cwd;
  if (dir.empty()) {
    dir = ctx.data_dir;
  }
  const auto data = std::filesystem::weakly_canonical(std::filesystem::absolute(ctx.data_dir));
  const auto real = std::filesystem::weakly_canonical(std::filesystem::absolute(dir));
  if (!inside(real, data)) {
    throw TaskFailure(fmt::format("exec: config.cwd '{}' leads to '{}', outside DATA_DIR '{}'", spec.cwd,
                                  real.string(), data.string()),
                      false);
  }
  return real;
}

// The program to start, checked against EXEC_ALLOWED. A bare name is looked up in
// the base PATH here, so the path that was checked is the path that runs.
std::string program_path(const ExecSpec& spec, const TaskContext& ctx, const std::filesystem::path& cwd) {
  const std::string& program = spec.argv[0];
  const auto& allowed = ctx.config.exec_allowed;
  if (allowed.empty()) {
    if (ctx.config.environment == "production") {
      throw TaskFailure("exec: disabled on this worker: EXEC_ALLOWED is empty and NFL_ANALYTICS_ENV=production; "
                        "list the programs exec tasks may run in EXEC_ALLOWED",
                        false);
    }
    return program; // development: posix_spawnp searches PATH for a bare name
  }
  std::filesystem::path found;
  if (program.find('/') != std::string::npos) {
    found = cwd / program; // an absolute program path replaces cwd
  } else {
    const char* path_env = std::getenv("PATH");
    std::string search = path_env ? path_env : k_default_path;
    for (std::size_t start = 0; start <= search.size();) {
      auto end = std::min(search.find(':', start), search.size());
      auto candidate = std::filesystem::path(search.substr(start, end - start)) / program;
      if (candidate.is_absolute() && ::access(candidate.c_str(), X_OK) == 0) {
        found = candidate;
        break;
      }
      start = end + 1;
    }
    if (found.empty()) {
      throw TaskFailure("exec: program '" + program + "' not found (config.argv[0], searched PATH)", false);
    }
  }
  std::error_code ec;
  const auto real = std::filesystem::weakly_canonical(found, ec);
  for (const auto& entry : allowed) {
    std::error_code entry_ec;
    if (!ec && real == std::filesystem::weakly_canonical(entry, entry_ec) && !entry_ec) {
      return real.string();
    }
  }
  throw TaskFailure(fmt::format("exec: program '{}' ({}) is not in EXEC_ALLOWED on this worker", program,
                                ec ? found.string() : real.string()),
                    false);
}

// Blocks SIGPIPE in this thread while we write to the child's stdin, so a child that
// exits without reading gives EPIPE instead of killing the worker; a SIGPIPE left
// pending is consumed before the mask is restored.
class SigpipeBlock {
public:
  SigpipeBlock() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &m_old);
  }
  ~SigpipeBlock() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    timespec zero{0, 0};
    while (sigtimedwait(&set, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }

private:
  sigset_t m_old;
};

pid_t spawn(const ExecSpec& spec, const TaskContext& ctx, int in_fd, int out_fd, int err_fd) {
  // The worker creates these folders lazily; a program is promised both exist.
  for (const auto* dir : {&ctx.artifact_dir, &ctx.checkpoint_dir}) {
    if (!dir->empty()) {
      std::filesystem::create_directories(*dir);
    }
  }
  const std::filesystem::path cwd = working_directory(spec, ctx);
  const std::string program = program_path(spec, ctx, cwd);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  // Store sockets and other tasks' pipes must not leak into the program.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  // Its own process group, so that stop and timeout reach its children too.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const auto& a : spec.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  auto env_strings = child_environment(spec, ctx);
  std::vector<char*> envp;
  for (auto& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  pid_t pid = -1;
  // posix_spawnp searches PATH only for names without '/'.
  int rc = ::posix_spawnp(&pid, program.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc == ENOENT) {
    throw TaskFailure("exec: program '" + spec.argv[0] + "' not found (config.argv[0]" +
                          (spec.argv[0].find('/') == std::string::npos ? ", searched PATH)" : ")") +
                          " or the folder '" + cwd.string() + "' does not exist",
                      false);
  }
  if (rc == EACCES) {
    throw TaskFailure("exec: program '" + spec.argv[0] + "' is not executable (config.argv[0])", false);
  }
  if (rc != 0) {
    throw TaskFailure("exec: cannot start '" + spec.argv[0] + "': " + std::strerror(rc), true);
  }
  return pid;
}

Json run(TaskContext& ctx) {
  const ExecSpec spec = parse_spec(ctx.task.config);
  auto [in_r, in_w] = make_pipe();
  auto [out_r, out_w] = make_pipe();
  auto [err_r, err_w] = make_pipe();
  auto [wake_r, wake_w] = make_pipe();
  set_nonblocking(wake_r.get());
  set_nonblocking(wake_w.get());

  SigpipeBlock sigpipe_block;
  const pid_t pid = spawn(spec, ctx, in_r.get(), out_w.get(), err_w.get());
  in_r.reset();
  out_w.reset();
  err_w.reset();
  set_nonblocking(in_w.get());
  set_nonblocking(out_r.get());
  set_nonblocking(err_r.get());
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  const std::string log_prefix = fmt::format("task={} exec pid={}", ctx.task.id, pid);
  spdlog::debug("{} started: {}", log_prefix, spec.argv[0]);

  int wake_fd = wake_w.get();
  std::stop_callback on_stop(ctx.stop, [wake_fd] {
    char b = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &b, 1);
  });

  std::string input = task_to_json(ctx.task).dump() + "\n";
  std::size_t input_off = 0;

  std::optional<std::string> last_json;
  LineSplitter out_lines(k_max_result_line);
  LineSplitter err_lines(k_max_stderr_line);
  std::string err_tail;
  int err_logged = 0;
  std::int64_t err_dropped = 0;
  bool skipped_long_line = false;

  auto on_stdout_line = [&](const std::string& line, bool overflow) {
    if (overflow) {
      skipped_long_line = true;
      return;
    }
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) {
      return;
    }
    if (line.compare(first, 9, "progress ") == 0) {
      const char* p = line.c_str() + first + 9;
      char* end = nullptr;
      double percent = std::strtod(p, &end);
      if (end != p) {
        std::string message(end);
        message.erase(0, message.find_first_not_of(' '));
        ctx.report_progress(std::clamp(percent, 0.0, 100.0), message.substr(0, 200));
        return;
      }
    }
    if ((line[first] == '{' || line[first] == '[') && Json::accept(line)) {
      last_json = line;
      return;
    }
    spdlog::debug("{} stdout: {}", log_prefix, line.substr(0, 500));
  };
  auto on_stderr_line = [&](const std::string& line, bool overflow) {
    if (err_logged < k_max_logged_stderr_lines) {
      std::string printable = line;
      for (auto& c : printable) {
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
          c = '?'; // binary output must not garble the log
        }
      }
      spdlog::info("{} stderr: {}{}", log_prefix, printable, overflow ? " [cut]" : "");
      ++err_logged;
    } else {
      ++err_dropped;
    }
  };

  bool out_open = true;
  bool err_open = true;
  bool exited = false;
  bool stopping = false;
  auto term_sent_at = std::chrono::steady_clock::time_point{};
  bool killed = false;
  auto exited_at = std::chrono::steady_clock::time_point{};
  bool leftovers_killed = false;
  char buf[65536];

  auto kill_group = [&](int sig) { ::kill(-pid, sig); };

  while (out_open || err_open || !exited) {
    std::vector<pollfd> fds;
    enum Src { s_in, s_out, s_err, s_wake, s_pid };
    std::vector<Src> srcs;
    auto add = [&](int fd, short events, Src s) {
      fds.push_back({fd, events, 0});
      srcs.push_back(s);
    };
    if (in_w.get() >= 0) {
      add(in_w.get(), POLLOUT, s_in);
    }
    if (out_open) {
      add(out_r.get(), POLLIN, s_out);
    }
    if (err_open) {
      add(err_r.get(), POLLIN, s_err);
    }
    add(wake_r.get(), POLLIN, s_wake);
    if (!exited && pidfd.get() >= 0) {
      add(pidfd.get(), POLLIN, s_pid);
    }
    int timeout_ms = 1000;
    if (exited || stopping) {
      timeout_ms = 100;
    }
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) {
      kill_group(SIGKILL);
      break;
    }
    for (std::size_t i = 0; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      switch (srcs[i]) {
      case s_in: {
        ssize_t w = ::write(in_w.get(), input.data() + input_off, input.size() - input_off);
        if (w > 0) {
          input_off += static_cast<std::size_t>(w);
        }
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || input_off == input.size()) {
          in_w.reset(); // EOF for the program (or it closed its stdin: fine)
          std::string().swap(input);
        }
        break;
      }
      case s_out:
      case s_err: {
        int fd = srcs[i] == s_out ? out_r.get() : err_r.get();
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r > 0) {
          if (srcs[i] == s_out) {
            out_lines.feed(buf, static_cast<std::size_t>(r), on_stdout_line);
          } else {
            err_tail.append(buf, static_cast<std::size_t>(r));
            if (err_tail.size() > 2 * k_stderr_tail) {
              err_tail.erase(0, err_tail.size() - k_stderr_tail);
            }
            err_lines.feed(buf, static_cast<std::size_t>(r), on_stderr_line);
          }
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          (srcs[i] == s_out ? out_open : err_open) = false;
        }
        break;
      }
      case s_wake: {
        while (::read(wake_r.get(), buf, sizeof buf) > 0) {
        }
        break;
      }
      case s_pid:
        exited = true;
        break;
      }
    }
    if (ctx.stop.stop_requested() && !stopping) {
      stopping = true;
      term_sent_at = std::chrono::steady_clock::now();
      kill_group(SIGTERM);
      spdlog::info("{} stop requested: SIGTERM sent to its process group", log_prefix);
    }
    if (stopping && !killed && std::chrono::steady_clock::now() - term_sent_at > k_kill_grace) {
      killed = true;
      kill_group(SIGKILL);
      spdlog::warn("{} did not stop within {} s: SIGKILL sent", log_prefix, k_kill_grace.count());
    }
    if (pidfd.get() < 0 && !out_open && !err_open) {
      exited = true; // no pidfd (old kernel): EOF on both pipes, then reap below
    }
    if (exited && exited_at == std::chrono::steady_clock::time_point{}) {
      exited_at = std::chrono::steady_clock::now();
    }
    // The program has exited but something it started still holds the pipes: give it
    // a moment to finish writing, then end the whole group.
    if (exited && (out_open || err_open) && std::chrono::steady_clock::now() - exited_at > k_drain_after_exit) {
      if (!leftovers_killed) {
        leftovers_killed = true;
        kill_group(SIGKILL);
      } else if (std::chrono::steady_clock::now() - exited_at > 2 * k_drain_after_exit) {
        break; // a process outside the group (setsid) holds them: stop reading
      }
    }
  }
  out_lines.flush(on_stdout_line);
  err_lines.flush(on_stderr_line);
  if (err_dropped > 0) {
    spdlog::info("{} stderr: {} more lines not logged", log_prefix, err_dropped);
  }
  // The group leader is still a zombie here, so its process group id cannot have
  // been reused: end any leftovers, then reap.
  kill_group(SIGKILL);
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  ctx.child_cpu_seconds += static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;

  if (stopping) {
    throw TaskStopped();
  }
  if (err_tail.size() > k_stderr_tail) {
    err_tail.erase(0, err_tail.size() - k_stderr_tail);
  }
  while (!err_tail.empty() && (err_tail.back() == '\n' || err_tail.back() == '\r')) {
    err_tail.pop_back();
  }
  if (WIFSIGNALED(status)) {
    throw TaskFailure(fmt::format("exec: '{}' killed by signal {} ({}); stderr tail: {}", spec.argv[0],
                                  WTERMSIG(status), strsignal(WTERMSIG(status)), err_tail),
                      true);
  }
  if (WEXITSTATUS(status) != 0) {
    throw TaskFailure(
        fmt::format("exec: '{}' exited with status {}; stderr tail: {}", spec.argv[0], WEXITSTATUS(status), err_tail),
        true);
  }
  if (!last_json) {
    if (skipped_long_line) {
      spdlog::warn("{} a stdout line over {} bytes was skipped; no JSON result line", log_prefix, k_max_result_line);
    }
    return Json::object();
  }
  try {
    return parse_json_bounded(*last_json, "exec: the result line");
  } catch (const InputError& e) {
    throw TaskFailure(e.what(), false); // Json::accept took it, but the store must not
  }
}

} // namespace

TaskType exec_task_type() {
  TaskType t;
  t.name = "exec";
  t.description = "Runs config.argv (no shell) with the task JSON on stdin; the last JSON line on stdout is the result.";
  t.validate_config = validate;
  t.run = run;
  return t;
}

} // namespace nfl::builtin
