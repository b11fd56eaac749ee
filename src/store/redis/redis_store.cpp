// The Redis backend of TaskStore. Every multi-key change is one Lua script (lua/,
// embedded at build time), loaded once with SCRIPT LOAD and called by EVALSHA; a
// NOSCRIPT answer (flushed cache, restarted server) reloads the script and retries.
// Key layout and the cluster rule: redis_keys.hpp and docs/decisions.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "store/redis/redis_cluster.hpp"
#include "store/redis/redis_connection.hpp"
#include "store/redis/redis_keys.hpp"
#include "store/redis/redis_scripts.hpp"
#include "store/store_factory.hpp"
#include "util/error.hpp"
#include "util/ids.hpp"

namespace nfl {

namespace {

// One node, or slot routing on a Redis Cluster (redis_cluster.hpp): the same calls.
using Connection = redis_detail::Client;
using redis_detail::RedisKeys;
using redis_detail::Reply;
using redis_detail::Script;
using redis_detail::ScriptCode;

// Due retries and expired leases handled per claim: bounds the work of one call.
constexpr std::size_t k_claim_batch = 100;
constexpr std::size_t k_maintenance_batch = 1000;
// claim_wait blocks at most this long per BLPOP, then re-checks: delayed retries and
// expired leases become claimable without anyone pushing a wake marker.
constexpr std::chrono::milliseconds k_wait_slice{1000};
constexpr std::size_t k_token_chars = 32;
// import_tasks sends this many items per script call (each call is atomic), fewer
// when their arguments pass the byte bound: one call must not hold Redis for long.
constexpr std::size_t k_import_batch = 200;
constexpr std::size_t k_import_batch_bytes = 8u << 20;
// export_tasks reads ids from the tasks zset and status sets this many at a time.
constexpr long long k_id_chunk = 10'000;
// persist() waits this long for BGSAVE, polling INFO at most this far apart.
constexpr std::chrono::seconds k_persist_timeout{60};
constexpr std::chrono::milliseconds k_persist_poll_max{100};

std::string str(const redisReply& r) {
  if (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS) {
    return std::string(r.str, r.len);
  }
  if (r.type == REDIS_REPLY_INTEGER) {
    return std::to_string(r.integer);
  }
  return {};
}

long long integer(const redisReply& r) {
  if (r.type == REDIS_REPLY_INTEGER) {
    return r.integer;
  }
  if (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS) {
    return std::stoll(std::string(r.str, r.len));
  }
  throw InternalError(fmt::format("redis: expected an integer reply, got type {}", r.type));
}

const redisReply& element(const redisReply& r, std::size_t i) {
  if (r.type != REDIS_REPLY_ARRAY || i >= r.elements) {
    throw InternalError(fmt::format("redis: unexpected reply shape (type {}, wanted element {})", r.type, i));
  }
  return *r.element[i];
}

std::string num(double v) { return fmt::format("{}", v); }

using Fields = std::unordered_map<std::string, std::string>;

Fields fields_of(const redisReply& hash) {
  Fields f;
  for (std::size_t i = 0; i + 1 < hash.elements; i += 2) {
    f.emplace(str(*hash.element[i]), str(*hash.element[i + 1]));
  }
  return f;
}

std::int64_t to_int(const Fields& f, const std::string& name) {
  auto it = f.find(name);
  if (it == f.end() || it->second.empty()) {
    return 0;
  }
  return std::stoll(it->second);
}

double to_double(const Fields& f, const std::string& name) {
  auto it = f.find(name);
  if (it == f.end() || it->second.empty()) {
    return 0.0;
  }
  return std::stod(it->second);
}

std::string to_str(const Fields& f, const std::string& name) {
  auto it = f.find(name);
  return it == f.end() ? std::string() : it->second;
}

// The task hash's `def`: the definition minus what the hash holds in fields of its own
// (id, type, queue, prio, max_attempts, deps, config) and minus default values. Every
// value of a small task's hash then stays under Redis's hash-max-listpack-value (64
// bytes), so Redis keeps the hash as a listpack: about a quarter of the memory of a
// hashtable (docs/performance.md, "Redis memory per pending task").
std::string stored_definition(const Task& t) {
  static const Json defaults = task_definition_json(Task{});
  Json def = task_definition_json(t);
  for (const char* own : {"id", "config", "task_type", "queue", "priority", "max_attempts", "depends_on"}) {
    def.erase(own);
  }
  for (auto it = def.begin(); it != def.end();) {
    auto d = defaults.find(it.key());
    if (d != defaults.end() && *d == it.value()) {
      it = def.erase(it);
    } else {
      ++it;
    }
  }
  return def.dump();
}

std::vector<std::string> split_ids(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(' ', at);
    if (end == std::string::npos) {
      end = text.size();
    }
    if (end > at) {
      out.push_back(text.substr(at, end - at));
    }
    at = end + 1;
  }
  return out;
}

Task task_from_fields(const Fields& f) {
  try {
    // `def` is whole in hashes written before stored_definition (and by import);
    // the fields of their own agree with it there and complete it here.
    Task t = task_from_json(Json::parse(to_str(f, "def")));
    if (auto it = f.find("id"); it != f.end()) {
      t.id = it->second;
    }
    if (auto it = f.find("type"); it != f.end()) {
      t.task_type = it->second;
    }
    if (auto it = f.find("prio"); it != f.end()) {
      const long long prio = std::stoll(it->second);
      if (prio < 0 || prio >= static_cast<long long>(k_priorities.size())) {
        throw InternalError(fmt::format("redis: task '{}': field 'prio' is {}; expected 0..4", t.id, prio));
      }
      t.priority = static_cast<Priority>(prio);
    }
    if (auto it = f.find("max_attempts"); it != f.end()) {
      t.max_attempts = static_cast<int>(std::stoll(it->second));
    }
    if (auto it = f.find("deps"); it != f.end()) {
      t.depends_on = split_ids(it->second);
    }
    if (auto it = f.find("config"); it != f.end()) {
      t.config = Json::parse(it->second);
    }
    if (auto it = f.find("result"); it != f.end()) {
      t.result = Json::parse(it->second);
    }
    // reroute() changes the queue field only: it, not the definition, says where the task is.
    if (auto q = to_str(f, "queue"); !q.empty()) {
      t.queue = std::move(q);
    }
    t.status = parse_status(to_str(f, "status"), "redis task field 'status'");
    t.attempts = static_cast<int>(to_int(f, "attempts"));
    t.machine_id = to_str(f, "machine_id");
    t.progress = to_double(f, "progress");
    t.progress_message = to_str(f, "progress_message");
    t.error = to_str(f, "error");
    t.cached = to_str(f, "cached") == "1";
    t.blocked_reason = to_str(f, "blocked_reason");
    t.enqueued_at_ms = to_int(f, "enqueued_at_ms");
    t.started_at_ms = to_int(f, "started_at_ms");
    t.finished_at_ms = to_int(f, "finished_at_ms");
    t.lease_expires_ms = to_int(f, "lease_expires_ms");
    t.not_before_ms = to_int(f, "not_before_ms");
    t.trimmed = to_str(f, "trimmed") == "1";
    t.wall_seconds = to_double(f, "wall_seconds");
    t.cpu_seconds = to_double(f, "cpu_seconds");
    t.gpu_seconds = to_double(f, "gpu_seconds");
    return t;
  } catch (const InternalError&) {
    throw;
  } catch (const std::exception& e) {
    throw InternalError(fmt::format("redis: corrupt task record: {}", e.what()));
  }
}

Task task_from_hash(const redisReply& hash) { return task_from_fields(fields_of(hash)); }

double jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 0.25)(rng);
}

class RedisTaskStore final : public TaskStore {
public:
  RedisTaskStore(const RedisOptions& redis, StoreOptions options)
      : m_redis(redis), m_options(std::move(options)), m_keys(redis.key_prefix),
        m_conn(redis, redis.command_timeout_ms) {
    if (!m_options.clock) {
      m_options.clock = system_clock();
    }
    std::lock_guard lock(m_mutex);
    std::vector<std::vector<std::string>> loads;
    for (const auto& info : redis_detail::k_scripts) {
      loads.push_back({"SCRIPT", "LOAD", redis_detail::script_source(info.script)});
    }
    auto replies = m_conn.pipeline(loads);
    for (std::size_t i = 0; i < replies.size(); ++i) {
      m_conn.check(*replies[i]);
      m_sha[i] = str(*replies[i]);
    }
  }

  std::vector<AddOutcome> add(std::span<const Task> tasks) override {
    if (tasks.empty()) {
      return {};
    }
    check_no_dependency_cycle(tasks);
    std::vector<std::string> args = {m_keys.prefix(), std::to_string(now()),
                                     m_options.enable_caching ? "1" : "0", std::to_string(tasks.size())};
    args.reserve(args.size() + tasks.size() * 9);
    for (const auto& t : tasks) {
      if (auto why = id_problem(t.id); !why.empty()) {
        throw InputError(fmt::format("task field 'id': '{}' {} (normalise() the task first)", t.id, why));
      }
      if (!is_known_queue(t.queue)) {
        throw InputError(fmt::format("task '{}': field 'queue': '{}' is not a queue (normalise() the task first)",
                                     t.id, t.queue));
      }
      std::string deps;
      for (const auto& d : t.depends_on) {
        if (auto why = id_problem(d); !why.empty()) {
          throw InputError(fmt::format("task '{}': field 'depends_on': '{}' {}", t.id, d, why));
        }
        if (!deps.empty()) {
          deps += ' ';
        }
        deps += d;
      }
      args.push_back(t.id);
      args.push_back(t.queue);
      args.push_back(std::to_string(static_cast<int>(t.priority)));
      args.push_back(t.task_type);
      args.push_back(cache_key(t));
      args.push_back(std::to_string(t.max_attempts));
      args.push_back(std::move(deps));
      args.push_back(stored_definition(t));
      args.push_back(t.config.dump());
    }
    // A big batch is one script that may run for seconds: allow ~1 ms per task on top
    // of the normal timeout rather than report a timeout for a batch that succeeds.
    Reply r = run(Script::add, m_keys.core(), args,
                  m_redis.command_timeout_ms + static_cast<int>(std::min<std::size_t>(tasks.size(), 3'600'000)));
    auto code = static_cast<ScriptCode>(integer(element(*r, 0)));
    if (code == ScriptCode::missing_dependency) {
      throw InputError(fmt::format("task '{}': field 'depends_on': '{}' is not in the store or earlier in the "
                                   "batch; nothing was added",
                                   str(element(*r, 1)), str(element(*r, 2))));
    }
    if (code == ScriptCode::unknown_queue) {
      throw InputError(fmt::format("task '{}': field 'queue': '{}' is not a queue", str(element(*r, 1)),
                                   str(element(*r, 2))));
    }
    if (code == ScriptCode::dependency_cycle) {
      throw_dependency_cycle(str(element(*r, 1)), str(element(*r, 2)));
    }
    expect_ok(code, Script::add);
    const redisReply& outcomes = element(*r, 1);
    std::vector<AddOutcome> out;
    out.reserve(outcomes.elements);
    for (std::size_t i = 0; i < outcomes.elements; ++i) {
      out.push_back(static_cast<AddOutcome>(integer(*outcomes.element[i])));
    }
    return out;
  }

  std::optional<Lease> claim(const ClaimRequest& req) override {
    if (req.queues.empty()) {
      return std::nullopt;
    }
    check_claim_request(req);
    std::string token = random_hex(k_token_chars);
    std::vector<std::string> args = {m_keys.prefix(), std::to_string(now())};
    append_claim_args(req, token, args);
    Reply r = run(Script::claim, m_keys.core(), args);
    expect_ok(static_cast<ScriptCode>(integer(element(*r, 0))), Script::claim);
    return r->elements < 2 ? std::nullopt : std::optional<Lease>(lease_from(element(*r, 1), std::move(token)));
  }

  CompleteAndClaim complete_and_claim(const std::string& id, const std::string& token, const Json& result,
                                      const Accounting& accounting, const ClaimRequest& next) override {
    if (next.queues.empty()) {
      return {complete(id, token, result, accounting), std::nullopt};
    }
    check_claim_request(next);
    std::string next_token = random_hex(k_token_chars);
    std::vector<std::string> args = {m_keys.prefix(), id, token, std::to_string(now())};
    append_complete_args(result, accounting, args);
    append_claim_args(next, next_token, args);
    Reply r = run(Script::complete_claim, core_with_task(id), args);
    CompleteAndClaim out;
    out.completed = lease_result(element(*r, 0), Script::complete_claim);
    expect_ok(static_cast<ScriptCode>(integer(element(*r, 1))), Script::complete_claim);
    if (r->elements > 2) {
      out.next = lease_from(element(*r, 2), std::move(next_token));
    }
    return out;
  }

  std::optional<Lease> claim_wait(const ClaimRequest& req, std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::string> blpop = {"BLPOP"};
    for (const auto& q : req.queues) {
      blpop.push_back(m_keys.wake(q));
    }
    for (;;) {
      if (auto lease = claim(req)) {
        return lease;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || req.queues.empty()) {
        return std::nullopt;
      }
      auto slice = std::min(left, k_wait_slice);
      blpop.resize(req.queues.size() + 1);
      // BLPOP takes seconds with decimals; 0 would mean forever.
      blpop.push_back(fmt::format("{:.3f}", std::max<double>(slice.count(), 1.0) / 1000.0));
      wait_for_marker(blpop);
    }
  }

  LeaseResult renew(const std::string& id, const std::string& token, Millis lease_ms, std::optional<double> progress,
                    std::optional<std::string> message) override {
    if (lease_ms <= 0) {
      throw InputError(fmt::format("renew: lease_ms must be positive, got {}", lease_ms));
    }
    if (progress && (!std::isfinite(*progress) || *progress < 0.0 || *progress > 100.0)) {
      throw InputError(fmt::format("renew: progress must be from 0 to 100, got {}", *progress));
    }
    Reply r = run(Script::renew, {m_keys.leases(), m_keys.task(id)},
                  {id, token, std::to_string(now()), std::to_string(lease_ms), progress ? num(*progress) : "",
                   message ? "1" : "0", message.value_or("")});
    return lease_result(*r, Script::renew);
  }

  LeaseResult complete(const std::string& id, const std::string& token, const Json& result,
                       const Accounting& accounting) override {
    std::vector<std::string> args = {m_keys.prefix(), id, token, std::to_string(now())};
    append_complete_args(result, accounting, args);
    Reply r = run(Script::complete, core_with_task(id), args);
    return lease_result(*r, Script::complete);
  }

  LeaseResult fail(const std::string& id, const std::string& token, const std::string& error,
                   bool retryable) override {
    Reply r = run(Script::fail, core_with_task(id),
                  {m_keys.prefix(), id, token, std::to_string(now()), error, retryable ? "1" : "0",
                   std::to_string(m_options.retry_base_ms), std::to_string(m_options.retry_max_ms), num(jitter())});
    return lease_result(*r, Script::fail);
  }

  LeaseResult release(const std::string& id, const std::string& token, Millis delay_ms,
                      const std::string& reason) override {
    if (delay_ms < 0) {
      throw InputError(fmt::format("release: delay_ms must be >= 0, got {}", delay_ms));
    }
    Reply r = run(Script::release, core_with_task(id),
                  {m_keys.prefix(), id, token, std::to_string(now()), std::to_string(delay_ms), reason});
    return lease_result(*r, Script::release);
  }

  bool requeue(const std::string& id) override {
    Reply r = run(Script::requeue, core_with_task(id), {m_keys.prefix(), id, std::to_string(now())});
    return integer(*r) == 1;
  }

  bool cancel(const std::string& id) override {
    Reply r = run(Script::cancel, core_with_task(id), {m_keys.prefix(), id, std::to_string(now())});
    return integer(*r) == 1;
  }

  std::optional<Task> get(const std::string& id) override {
    Reply r = command({"HGETALL", m_keys.task(id)});
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      return std::nullopt;
    }
    return task_from_hash(*r);
  }

  std::vector<Task> list(const TaskFilter& filter) override {
    if (filter.queue && !is_known_queue(*filter.queue)) {
      check_queue_names({*filter.queue});
    }
    Reply r = run(Script::list, m_keys.core(),
                  {m_keys.prefix(), filter.status ? std::string(to_string(*filter.status)) : "",
                   filter.task_type.value_or(""), filter.queue.value_or(""), std::to_string(filter.offset),
                   std::to_string(filter.limit)});
    expect_ok(static_cast<ScriptCode>(integer(element(*r, 0))), Script::list);
    const redisReply& page = element(*r, 1);
    std::vector<Task> out;
    out.reserve(page.elements);
    for (std::size_t i = 0; i < page.elements; ++i) {
      out.push_back(task_from_hash(*page.element[i]));
    }
    return out;
  }

  std::size_t reclaim_expired() override {
    std::size_t total = 0;
    for (;;) {
      Reply r = run(Script::reclaim, m_keys.core(),
                    {m_keys.prefix(), std::to_string(now()), std::to_string(k_maintenance_batch)});
      auto n = static_cast<std::size_t>(integer(*r));
      total += n;
      if (n < k_maintenance_batch) {
        return total;
      }
    }
  }

  void heartbeat(const MachineInfo& machine) override {
    if (auto why = id_problem(machine.machine_id); !why.empty()) {
      throw InputError(fmt::format("heartbeat: machine_id '{}' {}", machine.machine_id, why));
    }
    Json queues = machine.queues;
    run(Script::heartbeat, {m_keys.machine(machine.machine_id), m_keys.machine_index()},
        {machine.machine_id, machine.profile, queues.dump(),
         (machine.hardware.is_null() ? Json::object() : machine.hardware).dump(), std::to_string(now())});
  }

  std::vector<MachineInfo> machines() override {
    Reply ids = command({"SMEMBERS", m_keys.machine_index()});
    std::vector<std::vector<std::string>> gets;
    for (std::size_t i = 0; i < ids->elements; ++i) {
      gets.push_back({"HGETALL", m_keys.machine(str(*ids->element[i]))});
    }
    std::vector<Reply> replies;
    {
      std::lock_guard lock(m_mutex);
      replies = m_conn.pipeline(gets);
    }
    Millis t = now();
    std::vector<MachineInfo> out;
    for (const auto& r : replies) {
      m_conn.check(*r);
      Fields f = fields_of(*r);
      if (f.empty()) {
        continue;
      }
      MachineInfo m;
      m.machine_id = to_str(f, "machine_id");
      m.profile = to_str(f, "profile");
      try {
        if (auto q = to_str(f, "queues"); !q.empty()) {
          m.queues = Json::parse(q).get<std::vector<std::string>>();
        }
        if (auto h = to_str(f, "hardware"); !h.empty()) {
          m.hardware = Json::parse(h);
        }
      } catch (const std::exception& e) {
        throw InternalError(fmt::format("redis: corrupt machine record '{}': {}", m.machine_id, e.what()));
      }
      m.last_seen_ms = to_int(f, "last_seen_ms");
      m.live = t - m.last_seen_ms <= m_options.machine_ttl_ms;
      m.tasks_done = to_int(f, "tasks_done");
      m.cpu_hours = to_double(f, "cpu_hours");
      m.gpu_hours = to_double(f, "gpu_hours");
      m.wall_hours = to_double(f, "wall_hours");
      out.push_back(std::move(m));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.machine_id < b.machine_id; });
    return out;
  }

  StoreStatus status() override {
    Reply r = run(Script::status, m_keys.core(), {m_keys.prefix(), std::to_string(now())});
    expect_ok(static_cast<ScriptCode>(integer(element(*r, 0))), Script::status);
    const redisReply& data = element(*r, 1);
    StoreStatus s;
    std::size_t i = 0;
    for (auto q : k_queues) {
      QueueCounts c;
      c.pending = integer(element(data, i++));
      c.running = integer(element(data, i++));
      s.queues.emplace(std::string(q), c);
    }
    for (auto st : k_statuses) {
      s.counts.emplace(std::string(to_string(st)), integer(element(data, i++)));
    }
    s.rejected_completions = integer(element(data, i++));
    s.completed_last_5m = integer(element(data, i++));
    s.completed_last_1h = integer(element(data, i++));
    const redisReply& running = element(data, i++);
    for (std::size_t j = 0; j < running.elements; ++j) {
      s.running.push_back(task_from_hash(*running.element[j]));
    }
    std::sort(s.running.begin(), s.running.end(), [](const Task& a, const Task& b) { return a.id < b.id; });
    s.machines = machines();
    return s;
  }

  std::size_t trim_finished(Millis older_than_ms) override {
    std::size_t total = 0;
    for (;;) {
      Reply r = run(Script::trim, {m_keys.finished()},
                    {m_keys.prefix(), std::to_string(older_than_ms), std::to_string(k_maintenance_batch)});
      auto n = static_cast<std::size_t>(integer(*r));
      total += n;
      if (n < k_maintenance_batch) {
        return total;
      }
    }
  }

  void export_tasks(const std::function<void(std::span<const Task>)>& sink, std::size_t page_size) override {
    if (page_size == 0) {
      throw InputError("export_tasks: page_size must be at least 1");
    }
    std::vector<std::string> ids = all_task_ids();
    std::vector<Task> page;
    page.reserve(std::min(page_size, ids.size()));
    for (std::size_t begin = 0; begin < ids.size(); begin += page_size) {
      std::size_t end = std::min(ids.size(), begin + page_size);
      std::vector<std::vector<std::string>> gets;
      gets.reserve(end - begin);
      for (std::size_t i = begin; i < end; ++i) {
        gets.push_back({"HGETALL", m_keys.task(ids[i])});
      }
      std::vector<Reply> replies;
      {
        std::lock_guard lock(m_mutex);
        replies = m_conn.pipeline(gets);
      }
      page.clear();
      for (const auto& r : replies) {
        m_conn.check(*r);
        if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
          page.push_back(task_from_hash(*r));
        }
      }
      // The sink runs without the connection lock: it may call back into the store.
      if (!page.empty()) {
        sink(std::span<const Task>(page));
      }
    }
  }

  std::size_t import_tasks(std::span<const TaskImport> items) override {
    // Every item is checked before the first call, so bad input installs nothing.
    for (const auto& item : items) {
      check_import(item);
    }
    std::size_t installed = 0;
    std::vector<std::string> batch;
    std::size_t count = 0;
    std::size_t bytes = 0;
    auto flush = [&] {
      if (count == 0) {
        return;
      }
      std::vector<std::string> args = {m_keys.prefix(), std::to_string(now()), m_options.enable_caching ? "1" : "0",
                                       std::to_string(count)};
      args.insert(args.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
      Reply r = run(Script::import_tasks, m_keys.core(), args, m_redis.command_timeout_ms + static_cast<int>(count));
      auto code = static_cast<ScriptCode>(integer(element(*r, 0)));
      if (code == ScriptCode::unknown_queue) {
        throw InputError(fmt::format("import_tasks: task '{}': field 'queue': '{}' is not a queue",
                                     str(element(*r, 1)), str(element(*r, 2))));
      }
      expect_ok(code, Script::import_tasks);
      installed += static_cast<std::size_t>(integer(element(*r, 1)));
      batch.clear();
      count = 0;
      bytes = 0;
    };
    for (const auto& item : items) {
      std::size_t before = batch.size();
      append_import_args(item, batch);
      for (std::size_t i = before; i < batch.size(); ++i) {
        bytes += batch[i].size();
      }
      if (++count >= k_import_batch || bytes >= k_import_batch_bytes) {
        flush();
      }
    }
    flush();
    return installed;
  }

  void import_machine(const MachineInfo& machine) override {
    if (auto why = id_problem(machine.machine_id); !why.empty()) {
      throw InputError(fmt::format("import_machine: machine_id '{}' {}", machine.machine_id, why));
    }
    Json queues = machine.queues;
    run(Script::import_machine, {m_keys.machine(machine.machine_id), m_keys.machine_index()},
        {machine.machine_id, machine.profile, queues.dump(),
         (machine.hardware.is_null() ? Json::object() : machine.hardware).dump(),
         std::to_string(machine.last_seen_ms), std::to_string(machine.tasks_done), num(machine.cpu_hours),
         num(machine.gpu_hours), num(machine.wall_hours)});
  }

  bool reroute(const std::string& id, const std::string& queue) override {
    check_queue_names({queue});
    if (!id_problem(id).empty()) {
      return false; // no task can have this id
    }
    Reply r = run(Script::reroute, core_with_task(id), {id, queue});
    auto code = static_cast<ScriptCode>(integer(element(*r, 0)));
    if (code == ScriptCode::unknown_queue) {
      check_queue_names({str(element(*r, 1))});
    }
    expect_ok(code, Script::reroute);
    return integer(element(*r, 1)) == 1;
  }

  void persist() override {
    // BGSAVE forks and answers at once; Redis offers no event for "the save finished",
    // so its INFO fields are polled at a short, growing interval up to a deadline.
    auto deadline = std::chrono::steady_clock::now() + k_persist_timeout;
    std::chrono::milliseconds interval{2};
    auto pause = [&](std::string_view waiting_for) {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw StoreUnavailable(fmt::format("redis at {}: persist gave up after {} s waiting for {}",
                                           endpoint(), k_persist_timeout.count(), waiting_for));
      }
      std::this_thread::sleep_for(interval);
      interval = std::min(interval * 2, k_persist_poll_max);
    };
    for (;;) {
      Reply r;
      {
        std::lock_guard lock(m_mutex);
        r = m_conn.command({"BGSAVE"});
      }
      if (r->type != REDIS_REPLY_ERROR) {
        break;
      }
      std::string text(redis_detail::reply_text(*r));
      // A save already running may have started before our writes, and another child
      // (AOF rewrite) blocks a fork: wait for the child to end, then save ourselves.
      if (text.find("in progress") == std::string::npos && text.find("child process") == std::string::npos) {
        m_conn.check(*r);
      }
      while (persistence_child_running()) {
        pause("a running background save or rewrite to finish");
      }
    }
    while (info_persistence()["rdb_bgsave_in_progress"] == "1") {
      pause("BGSAVE to finish");
    }
    auto info = info_persistence();
    if (info["rdb_last_bgsave_status"] != "ok") {
      std::string dir;
      try {
        Reply d = command({"CONFIG", "GET", "dir"});
        if (d->type == REDIS_REPLY_ARRAY && d->elements == 2) {
          dir = str(*d->element[1]);
        }
      } catch (const std::exception&) {
        dir = "(CONFIG GET refused)"; // renamed or disabled on managed servers
      }
      if (dir.empty()) {
        dir = "(none: the directory was removed under the server)"; // Redis reports its cwd
      }
      throw StoreUnavailable(fmt::format(
          "redis at {}: BGSAVE failed (rdb_last_bgsave_status:{}), nothing was made durable; check the redis log "
          "and that its dir '{}' exists, is writable and has free space",
          endpoint(), info["rdb_last_bgsave_status"], dir));
    }
  }

  void ping() override {
    Reply r = command({"PING"});
    (void)r;
  }

  std::string describe() const override {
    return fmt::format("redis://{}:{}/{}", m_redis.host, m_redis.port, m_redis.key_prefix);
  }

private:
  Millis now() const { return m_options.clock->now_ms(); }

  std::vector<std::string> core_with_task(const std::string& id) const {
    auto keys = m_keys.core();
    keys.push_back(m_keys.task(id));
    return keys;
  }

  const std::string& endpoint() const { return m_conn.endpoint(); }

  // Every task id, sorted: the tasks zset (add order, only ever appended to, so
  // paging it by index misses nothing) joined with the status sets, which also hold
  // any task written before the tasks zset existed.
  std::vector<std::string> all_task_ids() {
    std::vector<std::string> ids;
    for (long long start = 0;; start += k_id_chunk) {
      Reply r = command({"ZRANGE", m_keys.tasks(), std::to_string(start), std::to_string(start + k_id_chunk - 1)});
      for (std::size_t i = 0; i < r->elements; ++i) {
        ids.push_back(str(*r->element[i]));
      }
      if (r->elements < static_cast<std::size_t>(k_id_chunk)) {
        break;
      }
    }
    for (auto s : k_statuses) {
      std::string cursor = "0";
      do {
        Reply r = command({"SSCAN", m_keys.status_set(s), cursor, "COUNT", std::to_string(k_id_chunk)});
        cursor = str(element(*r, 0));
        const redisReply& members = element(*r, 1);
        for (std::size_t i = 0; i < members.elements; ++i) {
          ids.push_back(str(*members.element[i]));
        }
      } while (cursor != "0");
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }

  static void check_import(const TaskImport& item) {
    const Task& t = item.task;
    if (auto why = id_problem(t.id); !why.empty()) {
      throw InputError(fmt::format("import_tasks: task field 'id': '{}' {}", t.id, why));
    }
    if (!is_known_queue(t.queue)) {
      throw InputError(fmt::format("import_tasks: task '{}': field 'queue': '{}' is not a queue; expected one of {}",
                                   t.id, t.queue, queue_list()));
    }
    for (const auto& d : t.depends_on) {
      if (auto why = id_problem(d); !why.empty()) {
        throw InputError(fmt::format("import_tasks: task '{}': field 'depends_on': '{}' {}", t.id, d, why));
      }
    }
    if (t.task_type.empty()) {
      throw InputError(fmt::format("import_tasks: task '{}': field 'task_type' is empty", t.id));
    }
    if (t.max_attempts < 1) {
      throw InputError(
          fmt::format("import_tasks: task '{}': field 'max_attempts' must be >= 1, got {}", t.id, t.max_attempts));
    }
    if (t.attempts < 0 || item.expected_attempts < 0) {
      throw InputError(fmt::format("import_tasks: task '{}': attempts must be >= 0, got {} (expected_attempts {})",
                                   t.id, t.attempts, item.expected_attempts));
    }
  }

  // The 30 per-item fields of import-24.lua, in its order.
  void append_import_args(const TaskImport& item, std::vector<std::string>& args) const {
    const Task& t = item.task;
    std::string deps;
    for (const auto& d : t.depends_on) {
      if (!deps.empty()) {
        deps += ' ';
      }
      deps += d;
    }
    Json def = task_definition_json(t);
    def.erase("config");
    args.push_back(t.id);
    args.emplace_back(item.expected_status ? std::string(to_string(*item.expected_status)) : std::string());
    args.push_back(std::to_string(item.expected_attempts));
    args.push_back(random_hex(k_token_chars)); // no worker holds it: only reclaim ends the lease
    args.push_back(t.queue);
    args.push_back(std::to_string(static_cast<int>(t.priority)));
    args.push_back(t.task_type);
    args.push_back(cache_key(t));
    args.push_back(std::to_string(t.max_attempts));
    args.push_back(std::move(deps));
    args.push_back(def.dump());
    args.push_back(t.config.dump());
    args.emplace_back(to_string(t.status));
    args.push_back(std::to_string(t.attempts));
    args.push_back(t.machine_id);
    args.push_back(num(t.progress));
    args.push_back(t.progress_message);
    args.push_back(t.error);
    args.push_back(t.result.is_null() ? std::string() : t.result.dump());
    args.emplace_back(t.cached ? "1" : "0");
    args.push_back(t.blocked_reason);
    args.push_back(std::to_string(t.enqueued_at_ms));
    args.push_back(std::to_string(t.started_at_ms));
    args.push_back(std::to_string(t.finished_at_ms));
    args.push_back(std::to_string(t.lease_expires_ms));
    args.push_back(std::to_string(t.not_before_ms));
    args.emplace_back(t.trimmed ? "1" : "0");
    args.push_back(num(t.wall_seconds));
    args.push_back(num(t.cpu_seconds));
    args.push_back(num(t.gpu_seconds));
  }

  std::unordered_map<std::string, std::string> info_persistence() {
    Reply r = command({"INFO", "persistence"});
    std::unordered_map<std::string, std::string> out;
    std::string_view text = redis_detail::reply_text(*r);
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
      pos = end == std::string_view::npos ? text.size() : end + 1;
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (auto colon = line.find(':'); colon != std::string_view::npos && line.front() != '#') {
        out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
      }
    }
    return out;
  }

  bool persistence_child_running() {
    auto info = info_persistence();
    return info["rdb_bgsave_in_progress"] == "1" || info["aof_rewrite_in_progress"] == "1" ||
           info["module_fork_in_progress"] == "1";
  }

  // complete's ARGV[5..9]: result, wall/cpu/gpu seconds, caching.
  void append_complete_args(const Json& result, const Accounting& accounting, std::vector<std::string>& args) const {
    args.push_back(result.dump());
    args.push_back(num(accounting.wall_seconds));
    args.push_back(num(accounting.cpu_seconds));
    args.push_back(num(accounting.gpu_seconds));
    args.emplace_back(m_options.enable_caching ? "1" : "0");
  }

  // claim's ARGV[3..]: machine, lease, token, batch limit, queue count, queues.
  static void append_claim_args(const ClaimRequest& req, const std::string& token, std::vector<std::string>& args) {
    args.push_back(req.machine_id);
    args.push_back(std::to_string(req.lease_ms));
    args.push_back(token);
    args.push_back(std::to_string(k_claim_batch));
    args.push_back(std::to_string(req.queues.size()));
    args.insert(args.end(), req.queues.begin(), req.queues.end());
  }

  static Lease lease_from(const redisReply& hash, std::string token) {
    Lease lease;
    lease.task = task_from_hash(hash);
    lease.token = std::move(token);
    lease.expires_ms = lease.task.lease_expires_ms;
    return lease;
  }

  static void expect_ok(ScriptCode code, Script script) {
    if (code != ScriptCode::ok) {
      throw InternalError(fmt::format("redis script {} returned {} ({})", redis_detail::script_file(script),
                                      static_cast<long long>(code), redis_detail::message(code)));
    }
  }

  static LeaseResult lease_result(const redisReply& r, Script script) {
    auto code = static_cast<ScriptCode>(integer(r));
    switch (code) {
    case ScriptCode::ok: return LeaseResult::ok;
    case ScriptCode::not_found: return LeaseResult::not_found;
    case ScriptCode::lease_lost: return LeaseResult::lease_lost;
    case ScriptCode::cancelled: return LeaseResult::cancelled;
    default: expect_ok(code, script);
    }
    return LeaseResult::not_found;
  }

  Reply command(const std::vector<std::string>& args) {
    std::lock_guard lock(m_mutex);
    Reply r = m_conn.command(args);
    m_conn.check(*r);
    return r;
  }

  // EVALSHA with the script's declared keys; on NOSCRIPT, SCRIPT LOAD and retry.
  Reply run(Script script, const std::vector<std::string>& keys, const std::vector<std::string>& args,
            int timeout_ms = 0) {
    if (keys.size() != redis_detail::key_count(script)) {
      throw InternalError(fmt::format("redis script {} takes {} keys, called with {}",
                                      redis_detail::script_file(script), redis_detail::key_count(script),
                                      keys.size()));
    }
    auto index = static_cast<std::size_t>(script);
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.emplace_back("EVALSHA");
    argv.emplace_back();
    argv.push_back(std::to_string(keys.size()));
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    // On a cluster a write counts once a replica has it (REDIS_CLUSTER_WAIT_REPLICAS);
    // status and list only read.
    const bool writes = script != Script::status && script != Script::list;
    std::lock_guard lock(m_mutex);
    argv[1] = m_sha[index];
    auto send = [&] { return m_conn.command(argv, redis_detail::CallOptions{timeout_ms, writes}); };
    Reply r = send();
    // A replica promoted by a failover starts with an empty script cache: load there too.
    for (int reload = 0; reload < 3 && redis_detail::is_noscript(*r); ++reload) {
      Reply loaded = m_conn.command({"SCRIPT", "LOAD", redis_detail::script_source(script)});
      m_conn.check(*loaded);
      m_sha[index] = str(*loaded);
      argv[1] = m_sha[index];
      r = send();
    }
    m_conn.check(*r);
    return r;
  }

  // Blocks on the wake lists on a connection of its own, so the command connection
  // stays free for other threads while this one waits.
  void wait_for_marker(const std::vector<std::string>& blpop) {
    std::unique_ptr<Connection> conn;
    {
      std::lock_guard lock(m_wait_mutex);
      if (!m_idle_waiters.empty()) {
        conn = std::move(m_idle_waiters.back());
        m_idle_waiters.pop_back();
      }
    }
    if (!conn) {
      conn = std::make_unique<Connection>(
          m_redis, m_redis.command_timeout_ms + static_cast<int>(k_wait_slice.count()));
    }
    Reply r = conn->command(blpop);
    conn->check(*r);
    std::lock_guard lock(m_wait_mutex);
    m_idle_waiters.push_back(std::move(conn));
  }

  RedisOptions m_redis;
  StoreOptions m_options;
  RedisKeys m_keys;
  std::mutex m_mutex; // guards m_conn and m_sha
  Connection m_conn;
  std::array<std::string, redis_detail::k_scripts.size()> m_sha;
  std::mutex m_wait_mutex;
  std::vector<std::unique_ptr<Connection>> m_idle_waiters;
};

} // namespace

std::unique_ptr<TaskStore> make_redis_store(const RedisOptions& redis, StoreOptions options) {
  return std::make_unique<RedisTaskStore>(redis, std::move(options));
}

} // namespace nfl
