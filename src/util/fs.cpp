#include "util/fs.hpp"

#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "util/ids.hpp"

namespace nfl {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(what);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

} // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  auto dir = path.parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  // Leading '.' and a '.tmp' suffix: Drive, Dropbox and Syncthing skip such names.
  auto tmp = dir / ("." + path.filename().string() + "." + random_hex(8) + ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("create " + tmp.string());
  try {
    write_all(fd, contents, "write " + tmp.string());
    if (::fsync(fd) != 0) throw_errno("fsync " + tmp.string());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    throw_errno("rename to " + path.string());
  }
  fsync_dir(dir);
}

void append_file_durable(const std::filesystem::path& path, std::string_view contents) {
  auto dir = path.parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("open " + path.string());
  try {
    write_all(fd, contents, "append " + path.string());
    if (::fsync(fd) != 0) throw_errno("fsync " + path.string());
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace nfl
