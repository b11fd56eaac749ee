#include "store/redis/redis_cluster.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <thread>

#include <fmt/format.h>

#include "util/error.hpp"

namespace nfl::redis_detail {

namespace {

constexpr std::array<std::uint16_t, 256> crc16_table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    auto crc = static_cast<std::uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[i] = crc;
  }
  return table;
}

constexpr auto k_crc16 = crc16_table();

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char c : data) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ k_crc16[((crc >> 8) ^ c) & 0xff]);
  }
  return crc;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

// Error replies that a cluster node sends instead of running the command.
bool refused_before_running(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ERROR) {
    return false;
  }
  std::string_view text = reply_text(reply);
  for (std::string_view p : {"TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN", "READONLY", "UNBLOCKED"}) {
    if (starts_with(text, p)) {
      return true;
    }
  }
  return false;
}

struct Redirect {
  bool ask = false;
  int slot = 0;
  std::string endpoint;
};

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381".
std::optional<Redirect> redirect_of(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ERROR) {
    return std::nullopt;
  }
  std::string_view text = reply_text(reply);
  Redirect r;
  if (starts_with(text, "MOVED ")) {
    text.remove_prefix(6);
  } else if (starts_with(text, "ASK ")) {
    r.ask = true;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto space = text.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  try {
    r.slot = std::stoi(std::string(text.substr(0, space)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  r.endpoint = std::string(text.substr(space + 1));
  return r;
}

std::pair<std::string, int> split_endpoint(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) {
    throw InternalError(fmt::format("redis cluster: '{}' is not host:port", endpoint));
  }
  return {endpoint.substr(0, colon), std::stoi(endpoint.substr(colon + 1))};
}

std::string element_text(const redisReply& r) {
  if (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS) {
    return std::string(r.str, r.len);
  }
  return {};
}

} // namespace

std::optional<std::string_view> hash_tag(std::string_view key) {
  auto open = key.find('{');
  if (open == std::string_view::npos) {
    return std::nullopt;
  }
  auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) {
    return std::nullopt;
  }
  return key.substr(open + 1, close - open - 1);
}

int key_slot(std::string_view key) { return crc16(hash_tag(key).value_or(key)) % k_cluster_slots; }

std::optional<int> command_slot(const std::vector<std::string>& args) {
  if (args.empty()) {
    return std::nullopt;
  }
  std::string name = upper(args[0]);
  if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO" || name == "FCALL" ||
      name == "FCALL_RO") {
    if (args.size() > 3 && args[2] != "0") {
      return key_slot(args[3]);
    }
    return std::nullopt;
  }
  static const std::array<std::string_view, 32> k_keyless = {
      "ACL",      "ASKING",  "AUTH",     "BGREWRITEAOF", "BGSAVE",  "CLIENT",  "CLUSTER",  "COMMAND",
      "CONFIG",   "DBSIZE",  "DEBUG",    "DISCARD",      "ECHO",    "EXEC",    "FLUSHALL", "FLUSHDB",
      "FUNCTION", "HELLO",   "INFO",     "LASTSAVE",     "LATENCY", "MULTI",   "PING",     "READONLY",
      "READWRITE", "ROLE",   "SAVE",     "SCRIPT",       "SELECT",  "SLOWLOG", "TIME",     "WAIT"};
  if (args.size() < 2 || std::find(k_keyless.begin(), k_keyless.end(), name) != k_keyless.end()) {
    return std::nullopt;
  }
  return key_slot(args[1]);
}

// ---------------------------------------------------------------- Topology

namespace {

struct SeenRegistry {
  std::mutex mutex;
  std::map<std::string, std::vector<std::string>> nodes; // Topology key -> endpoints
};

SeenRegistry& seen_registry() {
  static SeenRegistry registry;
  return registry;
}

} // namespace

Topology::Topology(RedisCluster setting, std::string key) : m_setting(setting), m_key(std::move(key)) {
  auto& registry = seen_registry();
  std::lock_guard lock(registry.mutex);
  m_seen = registry.nodes[m_key];
}

void Topology::remember(const std::string& endpoint) {
  if (std::find(m_seen.begin(), m_seen.end(), endpoint) != m_seen.end()) {
    return;
  }
  m_seen.push_back(endpoint);
  auto& registry = seen_registry();
  std::lock_guard lock(registry.mutex);
  auto& nodes = registry.nodes[m_key];
  if (std::find(nodes.begin(), nodes.end(), endpoint) == nodes.end()) {
    nodes.push_back(endpoint);
  }
}

Topology::Mode Topology::mode() const {
  std::lock_guard lock(m_mutex);
  return m_mode;
}

void Topology::set_mode(Mode mode) {
  std::lock_guard lock(m_mutex);
  m_mode = mode;
}

std::optional<Topology::Owner> Topology::owner(int slot, int wanted_replicas) const {
  std::lock_guard lock(m_mutex);
  const Millis age = monotonic_ms() - m_installed_ms;
  if (m_stale || m_slot_owner.empty() || age > k_slot_map_max_age_ms) {
    return std::nullopt;
  }
  auto index = m_slot_owner[static_cast<std::size_t>(slot)];
  if (index < 0) {
    return std::nullopt;
  }
  const Owner& owner = m_owners[static_cast<std::size_t>(index)];
  if (owner.replicas < wanted_replicas && age > k_slot_map_replica_recheck_ms) {
    return std::nullopt;
  }
  return owner;
}

void Topology::install(std::vector<std::pair<std::pair<int, int>, Owner>> ranges, const std::vector<std::string>& nodes) {
  std::lock_guard lock(m_mutex);
  m_slot_owner.assign(k_cluster_slots, -1);
  m_owners.clear();
  for (auto& [range, owner] : ranges) {
    const auto& endpoint = owner.endpoint; // clang 14 cannot capture a structured binding (fuzz build)
    auto it = std::find_if(m_owners.begin(), m_owners.end(), [&](const Owner& o) { return o.endpoint == endpoint; });
    auto index = static_cast<std::int32_t>(it - m_owners.begin());
    if (it == m_owners.end()) {
      m_owners.push_back(owner);
    }
    for (int s = std::max(range.first, 0); s <= std::min(range.second, k_cluster_slots - 1); ++s) {
      m_slot_owner[static_cast<std::size_t>(s)] = index;
    }
  }
  for (const auto& n : nodes) {
    remember(n);
  }
  m_stale = false;
  m_installed_ms = monotonic_ms();
  ++m_version;
}

void Topology::moved(int slot, const std::string& endpoint) {
  std::lock_guard lock(m_mutex);
  if (m_slot_owner.empty()) {
    m_slot_owner.assign(k_cluster_slots, -1);
  }
  auto it = std::find_if(m_owners.begin(), m_owners.end(), [&](const Owner& o) { return o.endpoint == endpoint; });
  if (it == m_owners.end()) {
    // Not in the map yet: its replicas are unknown until the next CLUSTER SLOTS.
    m_owners.push_back(Owner{endpoint, 0});
    it = m_owners.end() - 1;
  }
  m_slot_owner[static_cast<std::size_t>(slot % k_cluster_slots)] = static_cast<std::int32_t>(it - m_owners.begin());
  remember(endpoint);
  m_stale = true;
}

void Topology::mark_stale() {
  std::lock_guard lock(m_mutex);
  m_stale = true;
}

std::vector<std::string> Topology::candidates() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> out;
  for (const auto& o : m_owners) {
    out.push_back(o.endpoint);
  }
  for (const auto& n : m_seen) {
    if (std::find(out.begin(), out.end(), n) == out.end()) {
      out.push_back(n);
    }
  }
  return out;
}

std::uint64_t Topology::version() const {
  std::lock_guard lock(m_mutex);
  return m_version;
}

std::shared_ptr<Topology> shared_topology(const RedisOptions& options) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<Topology>> topologies;
  const std::string key = fmt::format("{}:{}/{}", options.host, options.port, static_cast<int>(options.cluster));
  std::lock_guard lock(mutex);
  auto& slot = topologies[key];
  auto topology = slot.lock();
  if (!topology) {
    topology = std::make_shared<Topology>(options.cluster, key);
    slot = topology;
  }
  return topology;
}

// ---------------------------------------------------------------- Client

Client::Client(RedisOptions options, int command_timeout_ms, std::shared_ptr<Topology> topology)
    : m_options(std::move(options)), m_command_timeout_ms(command_timeout_ms),
      m_topology(topology ? std::move(topology) : shared_topology(m_options)),
      m_seed(fmt::format("{}:{}", m_options.host, m_options.port)), m_last_endpoint(m_seed) {
  if (hash_tag(m_options.key_prefix)) {
    m_home_slot = key_slot(m_options.key_prefix);
  }
}

Connection& Client::node(const std::string& endpoint) {
  auto it = m_nodes.find(endpoint);
  if (it == m_nodes.end()) {
    RedisOptions o = m_options;
    std::tie(o.host, o.port) = split_endpoint(endpoint);
    it = m_nodes.emplace(endpoint, std::make_unique<Connection>(std::move(o), m_command_timeout_ms)).first;
  }
  m_last_endpoint = endpoint;
  return *it->second;
}

// Decided once per Topology: REDIS_CLUSTER=true/false, or (auto) the seed's
// INFO cluster. A server that refuses INFO is taken as standalone.
void Client::resolve_mode() {
  if (m_topology->mode() != Topology::Mode::unknown) {
    return;
  }
  Topology::Mode mode = Topology::Mode::standalone;
  if (m_topology->setting() == RedisCluster::on) {
    mode = Topology::Mode::cluster;
  } else if (m_topology->setting() == RedisCluster::detect && detect_cluster()) {
    mode = Topology::Mode::cluster;
  }
  if (mode == Topology::Mode::cluster) {
    if (!m_home_slot) {
      throw InputError(fmt::format(
          "REDIS_KEY_PREFIX: '{}' has no hash tag, but {} is a Redis Cluster: every key of the store must live in "
          "one slot; set REDIS_KEY_PREFIX to a hash tag such as {{nfl}}: (or REDIS_CLUSTER=false for a standalone "
          "Redis)",
          m_options.key_prefix, m_seed));
    }
    if (m_options.db != 0) {
      throw InputError(fmt::format("REDIS_DB: '{}' is not valid on a Redis Cluster; expected 0", m_options.db));
    }
  }
  m_topology->set_mode(mode);
}

// INFO cluster from REDIS_HOST; when it is down, from a node this process saw in a
// cluster under the same REDIS_HOST (a restarted store after its seed died).
bool Client::detect_cluster() {
  auto is_cluster = [this](const std::string& endpoint) {
    Connection& conn = node(endpoint);
    Reply info = conn.command({"INFO", "cluster"});
    if (info->type == REDIS_REPLY_ERROR) {
      std::string_view text = reply_text(*info);
      if (starts_with(text, "NOAUTH") || starts_with(text, "WRONGPASS")) {
        conn.check(*info); // names REDIS_PASSWORD; decides nothing
      }
      return false; // INFO disabled or renamed: a managed standalone server
    }
    return reply_text(*info).find("cluster_enabled:1") != std::string_view::npos;
  };
  try {
    return is_cluster(m_seed);
  } catch (const NotSent&) {
    for (const auto& endpoint : m_topology->candidates()) {
      if (endpoint == m_seed) {
        continue;
      }
      try {
        if (is_cluster(endpoint)) {
          return true;
        }
      } catch (const NotSent&) {
      }
    }
    throw;
  }
}

bool Client::cluster() {
  resolve_mode();
  return m_topology->mode() == Topology::Mode::cluster;
}

// Reads CLUSTER SLOTS from the first node that answers: the masters of the last map,
// then every node seen, then REDIS_HOST. Throws NotSent when none answers.
void Client::refresh() {
  auto candidates = m_topology->candidates();
  if (std::find(candidates.begin(), candidates.end(), m_seed) == candidates.end()) {
    candidates.push_back(m_seed);
  }
  std::string last_error = "no node known";
  for (const auto& endpoint : candidates) {
    Reply r;
    try {
      r = node(endpoint).command({"CLUSTER", "SLOTS"});
    } catch (const StoreUnavailable& e) {
      last_error = e.what();
      continue;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
      last_error = fmt::format("{} answered CLUSTER SLOTS with '{}'", endpoint, reply_text(*r));
      continue;
    }
    const std::string asked_host = split_endpoint(endpoint).first;
    auto address = [&](const redisReply& n) -> std::optional<std::string> {
      if (n.type != REDIS_REPLY_ARRAY || n.elements < 2 || n.element[1]->type != REDIS_REPLY_INTEGER) {
        return std::nullopt;
      }
      std::string host = element_text(*n.element[0]);
      if (host == "?") {
        return std::nullopt; // the node does not know its address yet
      }
      return fmt::format("{}:{}", host.empty() ? asked_host : host, n.element[1]->integer);
    };
    std::vector<std::pair<std::pair<int, int>, Topology::Owner>> ranges;
    std::vector<std::string> nodes;
    for (std::size_t i = 0; i < r->elements; ++i) {
      const redisReply& range = *r->element[i];
      if (range.type != REDIS_REPLY_ARRAY || range.elements < 3 || range.element[0]->type != REDIS_REPLY_INTEGER ||
          range.element[1]->type != REDIS_REPLY_INTEGER) {
        continue;
      }
      auto master = address(*range.element[2]);
      if (!master) {
        continue;
      }
      int replicas = 0;
      for (std::size_t j = 3; j < range.elements; ++j) {
        if (auto replica = address(*range.element[j])) {
          ++replicas;
          nodes.push_back(*replica);
        }
      }
      nodes.push_back(*master);
      ranges.push_back({{static_cast<int>(range.element[0]->integer), static_cast<int>(range.element[1]->integer)},
                        Topology::Owner{*master, replicas}});
    }
    if (ranges.empty()) {
      last_error = fmt::format("{} knows no slot owner yet", endpoint);
      continue;
    }
    m_topology->install(std::move(ranges), nodes);
    return;
  }
  throw NotSent(fmt::format("no node of the Redis Cluster answered CLUSTER SLOTS (last: {})", last_error));
}

std::string Client::owner_endpoint(int slot, int& replicas, int wanted_replicas) {
  auto owner = m_topology->owner(slot, wanted_replicas);
  if (!owner) {
    refresh();
    owner = m_topology->owner(slot);
  }
  if (!owner) {
    throw NotSent(fmt::format("no master of the Redis Cluster serves slot {} (cluster down?)", slot));
  }
  replicas = owner->replicas;
  return owner->endpoint;
}

Reply Client::command(const std::vector<std::string>& args, CallOptions call) {
  if (!cluster()) {
    return node(m_seed).command(args, call.timeout_ms);
  }
  return cluster_command(args, call, command_slot(args));
}

Reply Client::cluster_command(const std::vector<std::string>& args, CallOptions call, std::optional<int> slot) {
  const int target_slot = slot.value_or(*m_home_slot);
  const Millis deadline = monotonic_ms() + m_options.cluster_retry_ms;
  Millis backoff = 20;
  std::string last_problem;
  // Waits before the next try; false when the time for this call is spent.
  auto pause = [&] {
    Millis left = deadline - monotonic_ms();
    if (left <= 0) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(backoff, left)));
    backoff = std::min<Millis>(backoff * 2, 500);
    return true;
  };
  // Set by MOVED/ASK: where this call goes next (the map is re-read by the next call).
  std::optional<std::string> redirect_to;
  bool asking = false;
  for (int redirects = 0;;) {
    std::string endpoint;
    int wait_for = 0;
    std::vector<Reply> replies;
    try {
      if (redirect_to) {
        endpoint = *redirect_to;
        wait_for = call.replicate ? m_options.cluster_wait_replicas : 0; // its replicas are not known here
      } else {
        int replicas = 0;
        endpoint = owner_endpoint(target_slot, replicas, call.replicate ? m_options.cluster_wait_replicas : 0);
        wait_for = call.replicate ? std::min(m_options.cluster_wait_replicas, replicas) : 0;
      }
      std::vector<std::vector<std::string>> batch;
      if (asking) {
        batch.push_back({"ASKING"});
      }
      batch.push_back(args);
      if (wait_for > 0) {
        batch.push_back({"WAIT", std::to_string(wait_for), std::to_string(m_options.cluster_wait_timeout_ms)});
      }
      int timeout = call.timeout_ms > 0 ? call.timeout_ms : m_command_timeout_ms;
      replies = node(endpoint).pipeline(batch, wait_for > 0 ? timeout + m_options.cluster_wait_timeout_ms : timeout);
    } catch (const NotSent& e) {
      // Nothing was sent: the node is down or the map is wrong. Read the map again and retry.
      last_problem = e.what();
      m_topology->mark_stale();
      redirect_to.reset();
      asking = false;
      if (pause()) {
        continue;
      }
      throw StoreUnavailable(fmt::format("redis cluster: slot {} unreachable for {} ms: {}", target_slot,
                                         m_options.cluster_retry_ms, last_problem));
    } catch (const StoreUnavailable&) {
      m_topology->mark_stale(); // the command may have run: the caller decides; the next call re-reads the map
      throw;
    }
    Reply reply = std::move(replies[asking ? 1 : 0]);
    redirect_to.reset();
    asking = false;
    if (auto redirect = redirect_of(*reply)) {
      if (++redirects > k_max_redirects) {
        throw StoreUnavailable(fmt::format("redis cluster: slot {} redirected more than {} times (last: {})",
                                           target_slot, k_max_redirects, reply_text(*reply)));
      }
      if (!redirect->endpoint.empty() && redirect->endpoint.front() == ':') {
        redirect->endpoint = split_endpoint(endpoint).first + redirect->endpoint; // ":port": the same host
      }
      redirect_to = redirect->endpoint;
      asking = redirect->ask;
      if (!redirect->ask) {
        m_topology->moved(redirect->slot, redirect->endpoint);
      }
      continue;
    }
    if (refused_before_running(*reply)) {
      last_problem = std::string(reply_text(*reply));
      m_topology->mark_stale();
      if (pause()) {
        continue;
      }
      return reply; // check() maps it to StoreUnavailable
    }
    if (wait_for > 0 && reply->type != REDIS_REPLY_ERROR) {
      const redisReply& acks = *replies.back();
      if (acks.type != REDIS_REPLY_INTEGER || acks.integer < wait_for) {
        m_topology->mark_stale();
        throw StoreUnavailable(fmt::format(
            "redis cluster: the write ran on {} but {} of {} replicas confirmed it within {} ms; it would be lost if "
            "that master failed now (REDIS_CLUSTER_WAIT_REPLICAS)",
            endpoint, acks.type == REDIS_REPLY_INTEGER ? acks.integer : 0, wait_for,
            m_options.cluster_wait_timeout_ms));
      }
    }
    return reply;
  }
}

std::vector<Reply> Client::pipeline(const std::vector<std::vector<std::string>>& commands) {
  if (!cluster()) {
    return node(m_seed).pipeline(commands);
  }
  std::optional<int> slot;
  for (const auto& args : commands) {
    auto s = command_slot(args);
    if (s && slot && *s != *slot) {
      throw InternalError(fmt::format("redis cluster: a pipeline spans slots {} and {}; keep one hash tag", *slot, *s));
    }
    slot = slot ? slot : s;
  }
  const int target_slot = slot.value_or(*m_home_slot);
  std::vector<Reply> replies;
  const Millis deadline = monotonic_ms() + m_options.cluster_retry_ms;
  for (Millis backoff = 20;; backoff = std::min<Millis>(backoff * 2, 500)) {
    try {
      int replicas = 0;
      replies = node(owner_endpoint(target_slot, replicas, 0)).pipeline(commands);
      break;
    } catch (const NotSent& e) {
      m_topology->mark_stale();
      Millis left = deadline - monotonic_ms();
      if (left <= 0) {
        throw StoreUnavailable(fmt::format("redis cluster: slot {} unreachable for {} ms: {}", target_slot,
                                           m_options.cluster_retry_ms, e.what()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(backoff, left)));
    } catch (const StoreUnavailable&) {
      m_topology->mark_stale();
      throw;
    }
  }
  // A command the node refused did not run: send it again on its own, with redirections.
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (redirect_of(*replies[i]) || refused_before_running(*replies[i])) {
      replies[i] = cluster_command(commands[i], CallOptions{}, slot);
    }
  }
  return replies;
}

void Client::check(const redisReply& reply) const {
  auto it = m_nodes.find(m_last_endpoint);
  if (it != m_nodes.end()) {
    it->second->check(reply);
    return;
  }
  Connection(m_options, m_command_timeout_ms).check(reply);
}

} // namespace nfl::redis_detail
