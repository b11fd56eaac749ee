// `nfl-compute tasks list|show|cancel|requeue`.
#include <fmt/format.h>

#include "cli/context.hpp"
#include "util/error.hpp"
#include "util/ids.hpp"
#include "worker/result_log.hpp"

namespace nfl::cli {

namespace {

class NotFound : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

void check_id(const std::string& id) {
  if (auto why = id_problem(id); !why.empty()) {
    throw InputError(fmt::format("task id '{}' {}", id, why));
  }
}

std::string fit(const std::string& text, std::size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 1) + "~";
}

// The task, with its result from DATA_DIR when retention trimmed the store's copy.
Json task_document(Context& ctx, const Task& t) {
  Json j = task_to_json(t);
  j["result_source"] = t.result.is_null() ? "none" : "store";
  if (t.result.is_null() && (t.trimmed || t.status == TaskStatus::completed)) {
    std::optional<Millis> finished;
    if (t.finished_at_ms > 0) {
      finished = t.finished_at_ms;
    }
    if (auto record = find_result_record(ctx.config().data_dir, t.id, finished)) {
      j["result_record"] = *record;
      if (record->contains("result")) {
        j["result"] = (*record)["result"];
        j["result_source"] = "data_dir";
      }
    }
  }
  return j;
}

void print_task(Context& ctx, const Json& j) {
  auto& out = ctx.out;
  auto field = [&out](const char* label, const std::string& value) {
    if (!value.empty()) {
      out << fmt::format("{:<13}{}\n", label, value);
    }
  };
  auto ms_text = [](const Json& v) {
    auto ms = v.get<Millis>();
    return ms > 0 ? format_iso8601(ms) : std::string();
  };
  field("id:", j["id"].get<std::string>());
  if (j["name"] != j["id"]) {
    field("name:", j["name"].get<std::string>());
  }
  field("type:", j["task_type"].get<std::string>());
  auto status = j["status"].get<std::string>();
  if (j["cached"].get<bool>()) {
    status += " (from cache)";
  }
  if (j["trimmed"].get<bool>()) {
    status += " (trimmed by retention)";
  }
  field("status:", status);
  field("queue:", fmt::format("{}  priority {}", j["queue"].get<std::string>(), j["priority"].get<std::string>()));
  field("attempts:", fmt::format("{}/{}", j["attempts"].get<int>(), j["max_attempts"].get<int>()));
  field("machine:", j["machine_id"].get<std::string>());
  if (j["status"] == "running" || j["progress"].get<double>() > 0) {
    field("progress:", fmt::format("{} {:.0f}% {}", progress_bar(j["progress"].get<double>(), 20),
                                   j["progress"].get<double>(), j["progress_message"].get<std::string>()));
  }
  field("created:", j["created_at"].get<std::string>());
  field("started:", ms_text(j["started_at_ms"]));
  field("finished:", ms_text(j["finished_at_ms"]));
  std::string deps;
  for (const auto& d : j["depends_on"]) {
    deps += (deps.empty() ? "" : ", ") + d.get<std::string>();
  }
  field("depends on:", deps);
  field("blocked:", j["blocked_reason"].get<std::string>());
  field("error:", j["error"].get<std::string>());
  if (j["wall_seconds"].get<double>() > 0) {
    field("compute:", fmt::format("{:.1f}s wall, {:.1f}s CPU, {:.1f}s GPU", j["wall_seconds"].get<double>(),
                                  j["cpu_seconds"].get<double>(), j["gpu_seconds"].get<double>()));
  }
  if (!j["config"].empty()) {
    field("config:", j["config"].dump());
  }
  if (!j["result"].is_null()) {
    auto source = j["result_source"] == "data_dir" ? " (from DATA_DIR/results)" : "";
    out << "result" << source << ":\n" << j["result"].dump(2) << "\n";
  }
}

void add_list(CLI::App& tasks, Context& ctx) {
  struct Options {
    std::optional<std::string> status;
    std::optional<std::string> type;
    std::optional<std::string> queue;
    std::size_t limit = 1000;
    std::size_t offset = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub = tasks.add_subcommand("list", "List tasks, newest filters first");
  sub->add_option("--status", o->status, "pending, running, completed, failed, cancelled, blocked");
  sub->add_option("--type", o->type, "Only this task_type");
  sub->add_option("--queue", o->queue, "Only this queue");
  sub->add_option("--limit", o->limit, "At most this many (default 1000)")->check(CLI::Range(1, 1'000'000));
  sub->add_option("--offset", o->offset, "Skip this many");
  sub->add_flag("--json", o->json, "A JSON array of tasks");
  sub->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      ctx.config();
      TaskFilter filter;
      if (o->status) {
        filter.status = parse_status(*o->status, "--status");
      }
      if (o->queue) {
        if (!is_known_queue(*o->queue)) {
          throw InputError(fmt::format("--queue: '{}' is not a queue; expected one of {}", *o->queue, queue_list()));
        }
        filter.queue = o->queue;
      }
      filter.task_type = o->type;
      filter.limit = o->limit;
      filter.offset = o->offset;
      auto found = ctx.store().list(filter);
      if (o->json) {
        Json arr = Json::array();
        for (const auto& t : found) {
          arr.push_back(task_to_json(t));
        }
        ctx.out << arr.dump(2) << "\n";
        return 0;
      }
      ctx.out << colourise(ctx.colour(), "1",
                           fmt::format("{:<29}{:<17}{:<10}{:<18}{:>5}", "ID", "TYPE", "STATUS", "QUEUE", "TRY"))
              << "\n";
      for (const auto& t : found) {
        ctx.out << fmt::format("{:<29}{:<17}{:<10}{:<18}{:>5}\n", fit(t.id, 28), fit(t.task_type, 16),
                               std::string(to_string(t.status)), fit(t.queue, 17),
                               fmt::format("{}/{}", t.attempts, t.max_attempts));
      }
      if (found.empty()) {
        ctx.err << "no tasks match\n";
      }
      return 0;
    };
  });
}

void add_show(CLI::App& tasks, Context& ctx) {
  struct Options {
    std::string id;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub = tasks.add_subcommand("show", "One task: status, attempts, machine, progress, result");
  sub->add_option("id", o->id, "Task id")->required();
  sub->add_flag("--json", o->json, "The task as JSON (with result_source and, when trimmed, result_record)");
  sub->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      ctx.config();
      check_id(o->id);
      auto task = ctx.store().get(o->id);
      if (!task) {
        throw NotFound(fmt::format("no task with id '{}' in {}", o->id, ctx.store().describe()));
      }
      auto doc = task_document(ctx, *task);
      if (o->json) {
        ctx.out << doc.dump(2) << "\n";
      } else {
        print_task(ctx, doc);
      }
      return 0;
    };
  });
}

void add_state_change(CLI::App& tasks, Context& ctx, const std::string& verb) {
  auto id = std::make_shared<std::string>();
  const bool cancel = verb == "cancel";
  auto* sub = tasks.add_subcommand(verb, cancel ? "Cancel a pending, blocked or running task"
                                                : "Bring a failed, cancelled or blocked task back to pending");
  sub->add_option("id", *id, "Task id")->required();
  sub->callback([id, cancel, &ctx] {
    ctx.action = [id, cancel, &ctx] {
      ctx.config();
      check_id(*id);
      auto& store = ctx.store();
      bool changed = cancel ? store.cancel(*id) : store.requeue(*id);
      if (changed) {
        ctx.out << (cancel ? "cancelled " : "requeued ") << *id << "\n";
        return 0;
      }
      auto task = store.get(*id);
      if (!task) {
        throw NotFound(fmt::format("no task with id '{}' in {}", *id, store.describe()));
      }
      ctx.err << fmt::format("nfl-compute: error: task '{}' is {}; {}\n", *id, to_string(task->status),
                             cancel ? "only pending, blocked or running tasks can be cancelled"
                                    : "only failed, cancelled or blocked tasks can be requeued");
      return 1;
    };
  });
}

} // namespace

void add_tasks_command(CLI::App& app, Context& ctx) {
  auto* tasks = app.add_subcommand("tasks", "List, show, cancel or requeue tasks");
  tasks->require_subcommand(1);
  add_list(*tasks, ctx);
  add_show(*tasks, ctx);
  add_state_change(*tasks, ctx, "cancel");
  add_state_change(*tasks, ctx, "requeue");
}

} // namespace nfl::cli
