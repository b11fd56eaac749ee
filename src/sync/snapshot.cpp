#include "sync/snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <xxhash.h>
#include <zstd.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::sync {

namespace {

constexpr std::string_view k_magic = "NFLSNAP1";
constexpr std::string_view k_end_magic = "NFLSEND1";
constexpr std::size_t k_trailer_bytes = 8 + 8 + 8;
// Big enough for zstd to find repetition across tasks, small enough to stream.
constexpr std::size_t k_block_target = 1U << 20;
constexpr int k_zstd_level = 1; // ~10x on task JSON at hundreds of MB/s

void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4); // little-endian hosts only (x86-64, arm64): checked in the header magic test
  out.append(b, 4);
}
void put_u64(std::string& out, std::uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
void put_hlc(std::string& out, const Hlc& h) {
  put_u64(out, static_cast<std::uint64_t>(h.wall_ms));
  put_u32(out, h.counter);
}

// Bounds-checked reads from a block: a short or lying length is a SnapshotError.
class Cursor {
public:
  Cursor(std::string_view data, std::size_t& pos) : m_data(data), m_pos(pos) {}
  void need(std::size_t n) const {
    if (m_data.size() - m_pos < n) {
      throw SnapshotError("record runs past the end of its block");
    }
  }
  std::uint32_t u32() {
    need(4);
    std::uint32_t v;
    std::memcpy(&v, m_data.data() + m_pos, 4);
    m_pos += 4;
    return v;
  }
  std::uint64_t u64() {
    need(8);
    std::uint64_t v;
    std::memcpy(&v, m_data.data() + m_pos, 8);
    m_pos += 8;
    return v;
  }
  std::string str() {
    std::uint32_t n = u32();
    need(n);
    std::string s(m_data.substr(m_pos, n));
    m_pos += n;
    return s;
  }
  Hlc hlc() {
    Hlc h;
    h.wall_ms = static_cast<Millis>(u64());
    h.counter = u32();
    return h;
  }

private:
  std::string_view m_data;
  std::size_t& m_pos;
};

Json machine_to_json(const MachineEntry& m) {
  return Json{{"machine_id", m.info.machine_id}, {"profile", m.info.profile},     {"queues", m.info.queues},
              {"hardware", m.info.hardware},     {"last_seen_ms", m.info.last_seen_ms}, {"tasks_done", m.info.tasks_done},
              {"cpu_hours", m.info.cpu_hours},   {"gpu_hours", m.info.gpu_hours}, {"wall_hours", m.info.wall_hours},
              {"stamp", Json{m.stamp.wall_ms, m.stamp.counter}}};
}

MachineEntry machine_from_json(const Json& j) {
  MachineEntry m;
  m.info.machine_id = j.at("machine_id").get<std::string>();
  m.info.profile = j.at("profile").get<std::string>();
  m.info.queues = j.at("queues").get<std::vector<std::string>>();
  m.info.hardware = j.at("hardware");
  m.info.last_seen_ms = j.at("last_seen_ms").get<Millis>();
  m.info.tasks_done = j.at("tasks_done").get<std::int64_t>();
  m.info.cpu_hours = j.at("cpu_hours").get<double>();
  m.info.gpu_hours = j.at("gpu_hours").get<double>();
  m.info.wall_hours = j.at("wall_hours").get<double>();
  m.stamp = Hlc{j.at("stamp").at(0).get<Millis>(), j.at("stamp").at(1).get<std::uint32_t>()};
  return m;
}

void validate_machine_id(const std::string& id, std::string_view where) {
  if (id.empty() || id.size() > 128 ||
      !std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; })) {
    throw SnapshotError(fmt::format("{}: machine id '{}' is not letters, digits, '_', '-', '.' (1-128)", where, id));
  }
}

} // namespace

// ---- writer ----

SnapshotWriter::SnapshotWriter(SnapshotHeader header) : m_header(std::move(header)) {
  Json h{{"format", m_header.format},
         {"machine_id", m_header.machine_id},
         {"created", Json{m_header.created.wall_ms, m_header.created.counter}},
         {"created_unix_ms", m_header.created_unix_ms},
         {"replica", m_header.replica},
         {"machines", Json::array()}};
  for (const auto& m : m_header.machines) {
    h["machines"].push_back(machine_to_json(m));
  }
  std::string text = h.dump();
  m_out.append(k_magic);
  put_str(m_out, text);
}

void SnapshotWriter::add(const Record& r) {
  if (m_any && r.id <= m_last_id) {
    throw InternalError(fmt::format("snapshot writer: record '{}' after '{}' breaks id order", r.id, m_last_id));
  }
  m_any = true;
  m_last_id = r.id;
  put_str(m_block, r.id);
  put_hlc(m_block, r.user_version);
  put_hlc(m_block, r.version);
  put_hlc(m_block, r.based_on);
  put_str(m_block, r.origin);
  put_str(m_block, r.assigned);
  put_str(m_block, r.state);
  put_u32(m_block, static_cast<std::uint32_t>(r.completions.size()));
  for (const auto& c : r.completions) {
    put_hlc(m_block, c.at);
    put_str(m_block, c.machine_id);
    put_str(m_block, c.state);
  }
  if (m_header.replica) {
    put_u64(m_block, r.local.applied_digest);
    put_hlc(m_block, r.local.applied_version);
    put_hlc(m_block, r.local.applied_user_version);
    put_u32(m_block, static_cast<std::uint32_t>(r.local.applied_status + 1));
  }
  ++m_records;
  if (m_block.size() >= k_block_target) {
    flush_block();
  }
}

void SnapshotWriter::flush_block() {
  if (m_block.empty()) {
    return;
  }
  std::string compressed(ZSTD_compressBound(m_block.size()), '\0');
  std::size_t n = ZSTD_compress(compressed.data(), compressed.size(), m_block.data(), m_block.size(), k_zstd_level);
  if (ZSTD_isError(n)) {
    throw InternalError(fmt::format("snapshot writer: zstd: {}", ZSTD_getErrorName(n)));
  }
  put_u32(m_out, static_cast<std::uint32_t>(m_block.size()));
  put_u32(m_out, static_cast<std::uint32_t>(n));
  m_out.append(compressed.data(), n);
  m_block.clear();
}

std::string SnapshotWriter::finish_bytes() {
  flush_block();
  std::string out = std::move(m_out);
  put_u64(out, m_records);
  put_u64(out, XXH3_64bits(out.data(), out.size()));
  out.append(k_end_magic);
  m_out.clear();
  return out;
}

std::uint64_t SnapshotWriter::commit(const std::filesystem::path& path) {
  std::string bytes = finish_bytes();
  write_file_atomic(path, bytes);
  return bytes.size();
}

// ---- reader ----

SnapshotReader SnapshotReader::open(const std::filesystem::path& path, const SnapshotLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw SnapshotError("cannot open (deleted or unreadable)");
  }
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::uint64_t>(in.tellg());
  if (size > limits.max_file_bytes) {
    throw SnapshotError(fmt::format("{} bytes is over the {} byte limit", size, limits.max_file_bytes));
  }
  in.seekg(0);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    throw SnapshotError("short read (file changed while being read)");
  }
  return from_bytes(std::move(bytes), limits);
}

SnapshotReader SnapshotReader::from_bytes(std::string bytes, const SnapshotLimits& limits) {
  SnapshotReader r;
  r.m_limits = limits;
  r.m_bytes = std::move(bytes);
  const std::string& b = r.m_bytes;
  if (b.size() < k_magic.size() + 4 + k_trailer_bytes || std::string_view(b).substr(0, k_magic.size()) != k_magic) {
    throw SnapshotError("not a snapshot (bad magic or too short)");
  }
  if (std::string_view(b).substr(b.size() - 8) != k_end_magic) {
    throw SnapshotError("truncated (no end marker): still uploading or cut short");
  }
  std::size_t trailer = b.size() - k_trailer_bytes;
  std::uint64_t records;
  std::uint64_t checksum;
  std::memcpy(&records, b.data() + trailer, 8);
  std::memcpy(&checksum, b.data() + trailer + 8, 8);
  if (XXH3_64bits(b.data(), trailer + 8) != checksum) {
    throw SnapshotError("checksum mismatch (corrupted)");
  }
  std::size_t pos = k_magic.size();
  Cursor c(std::string_view(b).substr(0, trailer), pos);
  std::uint32_t header_len = c.u32();
  if (header_len > limits.max_header_bytes) {
    throw SnapshotError(fmt::format("header of {} bytes is over the limit", header_len));
  }
  pos -= 4;
  std::string header_text = c.str();
  try {
    Json h = Json::parse(header_text);
    r.m_header.format = h.at("format").get<int>();
    if (r.m_header.format != k_snapshot_format) {
      throw SnapshotError(fmt::format("format {} (this build reads format {})", r.m_header.format, k_snapshot_format));
    }
    r.m_header.machine_id = h.at("machine_id").get<std::string>();
    r.m_header.created = Hlc{h.at("created").at(0).get<Millis>(), h.at("created").at(1).get<std::uint32_t>()};
    r.m_header.created_unix_ms = h.at("created_unix_ms").get<Millis>();
    r.m_header.replica = h.at("replica").get<bool>();
    for (const auto& m : h.at("machines")) {
      r.m_header.machines.push_back(machine_from_json(m));
      validate_machine_id(r.m_header.machines.back().info.machine_id, "header machines");
    }
  } catch (const Json::exception& e) {
    throw SnapshotError(fmt::format("header: {}", e.what()));
  }
  validate_machine_id(r.m_header.machine_id, "header");
  r.m_header.record_count = records;
  r.m_pos = pos;
  r.m_blocks_end = trailer;
  return r;
}

bool SnapshotReader::load_block() {
  if (m_pos >= m_blocks_end) {
    return false;
  }
  Cursor c(std::string_view(m_bytes).substr(0, m_blocks_end), m_pos);
  std::uint32_t raw = c.u32();
  std::uint32_t compressed = c.u32();
  if (raw > m_limits.max_block_bytes) {
    throw SnapshotError(fmt::format("block of {} bytes is over the limit", raw));
  }
  c.need(compressed);
  m_block.assign(raw, '\0');
  std::size_t n = ZSTD_decompress(m_block.data(), raw, m_bytes.data() + m_pos, compressed);
  if (ZSTD_isError(n) || n != raw) {
    throw SnapshotError("block does not decompress to its stated size");
  }
  m_pos += compressed;
  m_block_pos = 0;
  return true;
}

bool SnapshotReader::next(Record& out) {
  while (m_block_pos >= m_block.size()) {
    if (!load_block()) {
      if (m_read != m_header.record_count) {
        throw SnapshotError(fmt::format("{} records, trailer says {}", m_read, m_header.record_count));
      }
      return false;
    }
  }
  Cursor c(m_block, m_block_pos);
  out = Record{};
  out.id = c.str();
  if (out.id.empty() || (m_read > 0 && out.id <= m_last_id)) {
    throw SnapshotError(fmt::format("record '{}' is empty or out of id order", out.id));
  }
  out.user_version = c.hlc();
  out.version = c.hlc();
  out.based_on = c.hlc();
  out.origin = c.str();
  out.assigned = c.str();
  out.state = c.str();
  out.digest = state_digest(out.state);
  std::uint32_t n = c.u32();
  if (n > m_limits.max_completions) {
    throw SnapshotError(fmt::format("record '{}' has {} completions (limit {})", out.id, n, m_limits.max_completions));
  }
  out.completions.resize(n);
  for (auto& comp : out.completions) {
    comp.at = c.hlc();
    comp.machine_id = c.str();
    comp.state = c.str();
    comp.digest = state_digest(comp.state);
  }
  if (m_header.replica) {
    out.local.applied_digest = c.u64();
    out.local.applied_version = c.hlc();
    out.local.applied_user_version = c.hlc();
    out.local.applied_status = static_cast<int>(c.u32()) - 1;
    if (out.local.applied_status < -1 || out.local.applied_status >= static_cast<int>(k_statuses.size())) {
      throw SnapshotError(fmt::format("record '{}': bad local status", out.id));
    }
  }
  m_last_id = out.id;
  ++m_read;
  return true;
}

// ---- names ----

std::string snapshot_file_name(std::string_view machine_id, std::int64_t unix_ts) {
  return fmt::format("{}_{}{}", machine_id, unix_ts, k_snapshot_extension);
}

std::optional<SnapshotName> parse_snapshot_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || !name.ends_with(k_snapshot_extension)) {
    return std::nullopt; // temp files, partial uploads, other files
  }
  name.remove_suffix(k_snapshot_extension.size());
  SnapshotName out;
  if (auto at = name.find(".sync-conflict-"); at != std::string_view::npos) {
    name = name.substr(0, at);
    out.conflict_copy = true;
  }
  if (auto at = name.find(" ("); at != std::string_view::npos && name.ends_with(')')) {
    name = name.substr(0, at);
    out.conflict_copy = true;
  }
  auto underscore = name.rfind('_');
  if (underscore == std::string_view::npos || underscore == 0 || underscore + 1 == name.size()) {
    return std::nullopt;
  }
  auto digits = name.substr(underscore + 1);
  if (digits.size() > 12 || !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  out.machine_id = std::string(name.substr(0, underscore));
  if (!std::all_of(out.machine_id.begin(), out.machine_id.end(),
                   [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.'; })) {
    return std::nullopt;
  }
  out.unix_ts = std::stoll(std::string(digits));
  return out;
}

} // namespace nfl::sync
