// The folder-sync operations of the TaskStore contract (export_tasks, import_tasks,
// import_machine, reroute, persist), proven on SQLite and on Redis through the
// interface only. See "Sync operations" in docs/store-semantics.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store_factory.hpp"
#include "store/store_fixture.hpp"
#include "util/error.hpp"

using namespace nfl;
using namespace nfl::test;
using namespace std::chrono_literals;

namespace {

class SyncConformance : public StoreFixture {};

// Install only if the id is absent.
TaskImport if_absent(Task t) { return TaskImport{std::move(t), std::nullopt, 0}; }

// Install only if the stored task still has this status and attempt count.
TaskImport if_still(Task t, TaskStatus status, int attempts) { return TaskImport{std::move(t), status, attempts}; }

std::size_t import(TaskStore& store, std::vector<TaskImport> items) { return store.import_tasks(items); }

std::vector<Task> export_all(TaskStore& store, std::size_t page_size = 5000,
                             std::vector<std::size_t>* page_sizes = nullptr) {
  std::vector<Task> out;
  store.export_tasks(
      [&](std::span<const Task> page) {
        if (page_sizes) {
          page_sizes->push_back(page.size());
        }
        out.insert(out.end(), page.begin(), page.end());
      },
      page_size);
  return out;
}

// A task as another machine finished it.
Task completed_elsewhere(Task t, Json result, Millis finished_at) {
  t.status = TaskStatus::completed;
  t.attempts = 1;
  t.machine_id = "elsewhere";
  t.result = std::move(result);
  t.progress = 100.0;
  t.started_at_ms = finished_at - 1'000;
  t.finished_at_ms = finished_at;
  t.wall_seconds = 1.0;
  return t;
}

Task failed_elsewhere(Task t, const std::string& error, Millis finished_at) {
  t.status = TaskStatus::failed;
  t.attempts = t.max_attempts;
  t.machine_id = "elsewhere";
  t.error = error;
  t.finished_at_ms = finished_at;
  return t;
}

// ---------------------------------------------------------------- export

TEST_P(SyncConformance, ExportHandsEveryTaskOrderedByIdInPages) {
  auto store = open();
  std::vector<std::size_t> pages;
  EXPECT_TRUE(export_all(*store, 2, &pages).empty());

  // Added out of id order, in two batches.
  add(*store, {make_task("e3"), make_task("e1"), make_task("e5")});
  add(*store, {make_task("e2"), make_task("e4")});
  auto lease = store->claim(request()); // e3: FIFO head
  ASSERT_TRUE(lease);

  pages.clear();
  auto all = export_all(*store, 2, &pages);
  EXPECT_EQ(pages, (std::vector<std::size_t>{2, 2, 1}));
  std::vector<std::string> ids;
  for (const auto& t : all) {
    ids.push_back(t.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"e1", "e2", "e3", "e4", "e5"}));
  // Full state, not just the definition.
  EXPECT_EQ(all[2].status, TaskStatus::running);
  EXPECT_EQ(all[2].machine_id, "m1");
  EXPECT_EQ(all[2].attempts, 1);
  EXPECT_EQ(all[2].lease_expires_ms, lease->expires_ms);
  EXPECT_EQ(all[0].config, (Json{{"task", "e1"}}));

  // One page when it all fits.
  pages.clear();
  EXPECT_EQ(export_all(*store, 5000, &pages).size(), 5u);
  EXPECT_EQ(pages, (std::vector<std::size_t>{5}));
}

TEST_P(SyncConformance, ExportThenImportIntoAnotherStoreGivesEqualStates) {
  auto a = open();
  // One task in every state the store can hold.
  add(*a, make_task("rt_done", "analysis:standard", Priority::medium, {{"season", 2023}}));
  auto l = a->claim(request());
  ASSERT_TRUE(l);
  ASSERT_EQ(a->complete("rt_done", l->token, {{"v", 1}}, Accounting{10.0, 20.0, 0.0}), LeaseResult::ok);
  EXPECT_EQ(add(*a, make_task("rt_cached", "analysis:standard", Priority::low, {{"season", 2023}})),
            AddOutcome::cached);

  add(*a, make_task("rt_fail"));
  l = a->claim(request());
  ASSERT_TRUE(l);
  ASSERT_EQ(a->fail("rt_fail", l->token, "boom", false), LeaseResult::ok);
  add(*a, make_task("rt_blocked", "analysis:standard", Priority::medium, {}, {"rt_fail"}));

  add(*a, make_task("rt_retry", "cpu:parallel"));
  l = a->claim(request({"cpu:parallel"}));
  ASSERT_TRUE(l);
  ASSERT_EQ(a->fail("rt_retry", l->token, "flaky", true), LeaseResult::ok); // delayed by the backoff

  add(*a, make_task("rt_run", "gpu:high", Priority::high));
  l = a->claim(request({"gpu:high"}, "rig"));
  ASSERT_TRUE(l);
  ASSERT_EQ(a->renew("rt_run", l->token, k_lease_ms, 40.0, "halfway"), LeaseResult::ok);
  add(*a, make_task("rt_wait", "analysis:standard", Priority::medium, {}, {"rt_run"}));

  add(*a, make_task("rt_cancel"));
  ASSERT_TRUE(a->cancel("rt_cancel"));
  Task ready = make_task("rt_ready", "data:pipeline", Priority::critical);
  ready.extra["custom"] = "kept";
  add(*a, ready);

  auto exported = export_all(*a, 3);
  ASSERT_EQ(exported.size(), 9u);

  auto b = open(options(), "b");
  std::vector<TaskImport> items;
  for (const auto& t : exported) {
    items.push_back(if_absent(t));
  }
  EXPECT_EQ(b->import_tasks(items), 9u);

  auto reexported = export_all(*b, 4);
  ASSERT_EQ(reexported.size(), exported.size());
  for (std::size_t i = 0; i < exported.size(); ++i) {
    EXPECT_EQ(task_to_json(reexported[i]), task_to_json(exported[i])) << exported[i].id;
  }
  auto sa = a->status();
  auto sb = b->status();
  EXPECT_EQ(sb.counts, sa.counts);
  for (const auto& [queue, counts] : sa.queues) {
    EXPECT_EQ(sb.queues[queue].pending, counts.pending) << queue;
    EXPECT_EQ(sb.queues[queue].running, counts.running) << queue;
  }

  // It behaves the same too: only the ready task is claimable, and the copy of a
  // completed task serves the cache.
  auto all_queues = request(std::vector<std::string>(k_queues.begin(), k_queues.end()));
  EXPECT_EQ(claim_id(*b, all_queues), "rt_ready");
  EXPECT_EQ(claim_id(*b, all_queues), "");
  EXPECT_EQ(add(*b, make_task("rt_again", "analysis:standard", Priority::medium, {{"season", 2023}})),
            AddOutcome::cached);
  EXPECT_EQ(b->get("rt_again")->result, (Json{{"v", 1}}));
  // Importing the same export again installs nothing: every id is present now.
  EXPECT_EQ(b->import_tasks(items), 0u);
}

// ---------------------------------------------------------------- import: guard

TEST_P(SyncConformance, ImportInstallsOnlyWhenTheGuardHolds) {
  auto store = open();
  Millis now = m_clock->now_ms();
  add(*store, make_task("g"));
  Task merged = completed_elsewhere(make_task("g"), {{"x", 1}}, now);

  EXPECT_EQ(import(*store, {if_still(merged, TaskStatus::running, 0)}), 0u);   // other status
  EXPECT_EQ(import(*store, {if_still(merged, TaskStatus::pending, 1)}), 0u);   // other attempts
  EXPECT_EQ(import(*store, {if_absent(merged)}), 0u);                          // present
  auto g = store->get("g");
  EXPECT_EQ(g->status, TaskStatus::pending);
  EXPECT_TRUE(g->result.is_null());
  EXPECT_EQ(claim_id(*store), "g");

  // The holder is now the local worker (running, attempt 1): a guard read before the
  // claim no longer holds, one read after it does.
  EXPECT_EQ(import(*store, {if_still(merged, TaskStatus::pending, 0)}), 0u);
  EXPECT_EQ(store->get("g")->status, TaskStatus::running);
  EXPECT_EQ(import(*store, {if_still(merged, TaskStatus::running, 1)}), 1u);
  g = store->get("g");
  EXPECT_EQ(g->status, TaskStatus::completed);
  EXPECT_EQ(g->result, (Json{{"x", 1}}));
  EXPECT_EQ(g->machine_id, "elsewhere");

  // An expected status on an absent id: skipped, nothing created.
  EXPECT_EQ(import(*store, {if_still(make_task("ghost"), TaskStatus::pending, 0)}), 0u);
  EXPECT_FALSE(store->get("ghost"));

  // Per item within one call: the count is of the installed ones.
  EXPECT_EQ(import(*store, {if_absent(make_task("n1")), if_absent(make_task("g")),
                            if_still(make_task("n2"), TaskStatus::pending, 0), if_absent(make_task("n3"))}),
            2u);
  EXPECT_TRUE(store->get("n1"));
  EXPECT_FALSE(store->get("n2"));
  EXPECT_TRUE(store->get("n3"));
  EXPECT_EQ(store->get("g")->status, TaskStatus::completed);
}

TEST_P(SyncConformance, ImportRejectsAnInvalidItemNamingTheFieldAndInstallsNothing) {
  auto store = open();
  Task bad_queue = make_task("bad_queue");
  bad_queue.queue = "gpu:huge";
  try {
    import(*store, {if_absent(make_task("fine")), if_absent(bad_queue)});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("queue"), std::string::npos) << msg;
    EXPECT_NE(msg.find("gpu:huge"), std::string::npos) << msg;
  }
  Task no_id = make_task("no_id");
  no_id.id.clear();
  try {
    import(*store, {if_absent(make_task("fine")), if_absent(no_id)});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("id"), std::string::npos) << msg;
  }
  EXPECT_FALSE(store->get("fine"));
  EXPECT_TRUE(export_all(*store).empty());
}

// ---------------------------------------------------------------- import: pending

TEST_P(SyncConformance, ImportedReadyTasksAreClaimedByPriorityThenImportOrder) {
  auto store = open();
  add(*store, make_task("local_medium", "analysis:standard", Priority::medium));
  EXPECT_EQ(import(*store, {if_absent(make_task("imp_low", "analysis:standard", Priority::low)),
                            if_absent(make_task("imp_critical", "analysis:standard", Priority::critical)),
                            if_absent(make_task("imp_medium", "analysis:standard", Priority::medium))}),
            3u);
  auto s = store->status();
  EXPECT_EQ(s.counts["pending"], 4);
  EXPECT_EQ(s.queues["analysis:standard"].pending, 4);
  EXPECT_EQ(claim_id(*store), "imp_critical");
  EXPECT_EQ(claim_id(*store), "local_medium"); // enqueued before the import
  EXPECT_EQ(claim_id(*store), "imp_medium");
  EXPECT_EQ(claim_id(*store), "imp_low");
  EXPECT_EQ(claim_id(*store), "");
}

TEST_P(SyncConformance, ImportedPendingTaskWithAFutureNotBeforeWaitsUntilThen) {
  auto store = open();
  Task t = make_task("later");
  t.attempts = 1;
  t.error = "flaky on the other machine";
  t.not_before_ms = m_clock->now_ms() + 10'000;
  EXPECT_EQ(import(*store, {if_absent(t)}), 1u);
  auto got = store->get("later");
  EXPECT_EQ(got->status, TaskStatus::pending);
  EXPECT_EQ(got->attempts, 1);
  EXPECT_EQ(store->status().queues["analysis:standard"].pending, 1); // a backoff counts as pending
  EXPECT_EQ(claim_id(*store), "");
  m_clock->advance_ms(9'999);
  EXPECT_EQ(claim_id(*store), "");
  m_clock->advance_ms(1);
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->task.id, "later");
  EXPECT_EQ(lease->task.attempts, 2);
}

TEST_P(SyncConformance, AWaiterImportedBeforeItsDependencyIsQueuedWhenTheDependencyCompletes) {
  auto store = open();
  Millis now = m_clock->now_ms();

  // The dependency is not in the store at all: the waiter waits.
  EXPECT_EQ(import(*store, {if_absent(make_task("waiter", "analysis:standard", Priority::medium, {}, {"dep"}))}), 1u);
  EXPECT_EQ(store->get("waiter")->status, TaskStatus::pending);
  auto s = store->status();
  EXPECT_EQ(s.counts["pending"], 1);
  EXPECT_EQ(s.queues["analysis:standard"].pending, 0); // waiting is not queued
  EXPECT_EQ(claim_id(*store), "");
  // The dependency arrives, completed elsewhere.
  EXPECT_EQ(import(*store, {if_absent(completed_elsewhere(make_task("dep"), {{"d", 1}}, now))}), 1u);
  EXPECT_EQ(claim_id(*store), "waiter");

  // Both in one call, the waiter first.
  EXPECT_EQ(import(*store, {if_absent(make_task("w2", "analysis:standard", Priority::medium, {}, {"d2"})),
                            if_absent(completed_elsewhere(make_task("d2"), {{"d", 2}}, now))}),
            2u);
  EXPECT_EQ(claim_id(*store), "w2");

  // Two missing dependencies: queued only when both have completed.
  import(*store, {if_absent(make_task("w3", "analysis:standard", Priority::medium, {}, {"d3a", "d3b"}))});
  import(*store, {if_absent(completed_elsewhere(make_task("d3a"), {{"d", 3}}, now))});
  EXPECT_EQ(claim_id(*store), "");
  import(*store, {if_absent(completed_elsewhere(make_task("d3b"), {{"d", 4}}, now))});
  EXPECT_EQ(claim_id(*store), "w3");

  // The dependency arrives by add() and completes here.
  import(*store, {if_absent(make_task("w4", "analysis:standard", Priority::medium, {}, {"d4"}))});
  EXPECT_EQ(add(*store, make_task("d4")), AddOutcome::added);
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->task.id, "d4");
  EXPECT_EQ(claim_id(*store), "");
  EXPECT_EQ(store->complete("d4", lease->token, Json::object(), {}), LeaseResult::ok);
  EXPECT_EQ(claim_id(*store), "w4");

  // The dependency arrives by add() and completes at once from the cache.
  import(*store, {if_absent(make_task("w5", "analysis:standard", Priority::medium, {}, {"d5"}))});
  EXPECT_EQ(add(*store, make_task("d5", "analysis:standard", Priority::medium, {{"d", 1}})), AddOutcome::added);
  lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(store->complete("d5", lease->token, {{"r", 5}}, {}), LeaseResult::ok);
  import(*store, {if_absent(make_task("w6", "analysis:standard", Priority::medium, {}, {"d6"}))});
  EXPECT_EQ(claim_id(*store), "w5");
  EXPECT_EQ(add(*store, make_task("d6", "analysis:standard", Priority::medium, {{"d", 1}})), AddOutcome::cached);
  EXPECT_EQ(claim_id(*store), "w6");
}

// ---------------------------------------------------------------- import: completed

TEST_P(SyncConformance, CompletedImportQueuesWaitingDependentsAndFillsTheCache) {
  auto store = open();
  Json config = {{"season", 2024}, {"model", "elo"}};
  add(*store, {make_task("base", "analysis:standard", Priority::medium, config, {}, "elo"),
               make_task("child", "cpu:parallel", Priority::medium, {}, {"base"}),
               make_task("grandchild", "cpu:parallel", Priority::medium, {}, {"child"})});
  EXPECT_EQ(claim_id(*store, request({"cpu:parallel"})), "");

  Task done = completed_elsewhere(*store->get("base"), {{"rating", 1501.5}}, m_clock->now_ms());
  EXPECT_EQ(import(*store, {if_still(done, TaskStatus::pending, 0)}), 1u);
  auto base = store->get("base");
  EXPECT_EQ(base->status, TaskStatus::completed);
  EXPECT_EQ(base->result, (Json{{"rating", 1501.5}}));
  EXPECT_FALSE(base->cached);
  EXPECT_EQ(claim_id(*store), ""); // base is done: nothing left in its queue
  EXPECT_EQ(claim_id(*store, request({"cpu:parallel"})), "child");
  EXPECT_EQ(claim_id(*store, request({"cpu:parallel"})), ""); // grandchild waits on child

  // An identical task added here is served from the imported result.
  EXPECT_EQ(add(*store, make_task("base_again", "gpu:standard", Priority::high, config, {}, "elo")),
            AddOutcome::cached);
  auto again = store->get("base_again");
  EXPECT_EQ(again->status, TaskStatus::completed);
  EXPECT_TRUE(again->cached);
  EXPECT_EQ(again->result, (Json{{"rating", 1501.5}}));
  EXPECT_EQ(claim_id(*store, request({"gpu:standard"})), "");
}

// ---------------------------------------------------------------- import: failed, cancelled, blocked

TEST_P(SyncConformance, FailedOrCancelledImportBlocksWaitingDependents) {
  auto store = open();
  Millis now = m_clock->now_ms();
  add(*store, {make_task("root"), make_task("mid", "analysis:standard", Priority::medium, {}, {"root"}),
               make_task("leaf", "analysis:standard", Priority::medium, {}, {"mid"})});
  EXPECT_EQ(import(*store, {if_still(failed_elsewhere(make_task("root"), "boom", now), TaskStatus::pending, 0)}), 1u);
  auto root = store->get("root");
  EXPECT_EQ(root->status, TaskStatus::failed);
  EXPECT_EQ(root->error, "boom");
  for (const char* id : {"mid", "leaf"}) {
    auto t = store->get(id);
    EXPECT_EQ(t->status, TaskStatus::blocked) << id;
    EXPECT_NE(t->blocked_reason.find("root"), std::string::npos) << t->blocked_reason;
    EXPECT_NE(t->blocked_reason.find("failed"), std::string::npos) << t->blocked_reason;
  }
  EXPECT_EQ(claim_id(*store), "");
  EXPECT_EQ(store->status().counts["blocked"], 2);
  // Requeue brings the chain back as usual.
  EXPECT_TRUE(store->requeue("root"));
  EXPECT_EQ(store->get("mid")->status, TaskStatus::pending);
  EXPECT_EQ(claim_id(*store), "root");

  add(*store, {make_task("up"), make_task("down", "analysis:standard", Priority::medium, {}, {"up"})});
  Task cancelled = make_task("up");
  cancelled.status = TaskStatus::cancelled;
  cancelled.finished_at_ms = now;
  EXPECT_EQ(import(*store, {if_still(cancelled, TaskStatus::pending, 0)}), 1u);
  EXPECT_EQ(store->get("up")->status, TaskStatus::cancelled);
  auto down = store->get("down");
  EXPECT_EQ(down->status, TaskStatus::blocked);
  EXPECT_NE(down->blocked_reason.find("up"), std::string::npos) << down->blocked_reason;
  EXPECT_NE(down->blocked_reason.find("cancel"), std::string::npos) << down->blocked_reason;
  EXPECT_EQ(claim_id(*store), "");
}

TEST_P(SyncConformance, BlockedImportIsInstalledAsGiven) {
  auto store = open();
  Task t = make_task("stuck", "analysis:standard", Priority::medium, {}, {"gone"});
  t.status = TaskStatus::blocked;
  t.blocked_reason = "dependency 'gone' failed";
  EXPECT_EQ(import(*store, {if_absent(t)}), 1u);
  auto got = store->get("stuck");
  EXPECT_EQ(got->status, TaskStatus::blocked);
  EXPECT_EQ(got->blocked_reason, "dependency 'gone' failed");
  EXPECT_EQ(got->depends_on, (std::vector<std::string>{"gone"}));
  EXPECT_EQ(claim_id(*store), "");
  EXPECT_EQ(store->status().counts["blocked"], 1);
}

// ---------------------------------------------------------------- import: dependency cycles

// A pending task as another machine submitted it, depending on `deps`.
Task submitted_elsewhere(const std::string& id, std::vector<std::string> deps) {
  return make_task(id, "analysis:standard", Priority::medium, {}, std::move(deps));
}

// The message add() refuses `batch` with; empty when it was accepted.
std::string add_error(TaskStore& store, std::vector<Task> batch) {
  try {
    store.add(batch);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST_P(SyncConformance, AddClosingACycleThroughAnImportedTaskIsRefused) {
  auto store = open();
  // Another machine's a waits on b, which has not reached this machine yet.
  EXPECT_EQ(import(*store, {if_absent(submitted_elsewhere("a", {"b"}))}), 1u);
  // b -> a here would close a -> b -> a: refused, naming the cycle; nothing written.
  std::string e = add_error(*store, {submitted_elsewhere("b", {"a"})});
  EXPECT_NE(e.find("dependency cycle b -> a -> b"), std::string::npos) << e;
  EXPECT_FALSE(store->get("b"));
  // Through a task earlier in the same batch (b -> c -> a -> b): the whole batch is refused.
  e = add_error(*store, {submitted_elsewhere("c", {"a"}), submitted_elsewhere("b", {"c"})});
  EXPECT_NE(e.find("dependency cycle b -> c -> a -> b"), std::string::npos) << e;
  EXPECT_FALSE(store->get("c"));
  EXPECT_FALSE(store->get("b"));
  auto a = store->get("a");
  EXPECT_EQ(a->status, TaskStatus::pending);
  EXPECT_EQ(store->status().counts["pending"], 1);
  // Without the loop b is accepted, and a runs after it.
  EXPECT_EQ(add(*store, submitted_elsewhere("b", {})), AddOutcome::added);
  EXPECT_EQ(claim_id(*store), "b");
}

TEST_P(SyncConformance, AddThroughACompletedImportedTaskIsNoCycle) {
  auto store = open();
  // done finished elsewhere though it names a dependency this machine lacks: it waits
  // for nothing, so later -> done closes no cycle.
  Task done = completed_elsewhere(submitted_elsewhere("done", {"later"}), Json{{"ok", true}}, m_clock->now_ms());
  EXPECT_EQ(import(*store, {if_absent(done)}), 1u);
  EXPECT_EQ(add(*store, submitted_elsewhere("later", {"done"})), AddOutcome::added);
  EXPECT_EQ(claim_id(*store), "later");
}

TEST_P(SyncConformance, ImportClosingADependencyCycleBlocksTheCycleNamingItsTasks) {
  auto store = open();
  // Machine 1 has a -> b (b not here yet) and c -> a; machine 2's b -> a arrives later.
  EXPECT_EQ(import(*store, {if_absent(submitted_elsewhere("a", {"b"})),
                            if_absent(submitted_elsewhere("c", {"a"}))}),
            2u);
  EXPECT_EQ(store->get("a")->status, TaskStatus::pending);
  EXPECT_EQ(import(*store, {if_absent(submitted_elsewhere("b", {"a"}))}), 1u);
  for (const char* id : {"a", "b"}) {
    auto t = store->get(id);
    EXPECT_EQ(t->status, TaskStatus::blocked) << id;
    EXPECT_EQ(t->blocked_reason, "dependency cycle among a, b") << id;
  }
  // Outside the cycle but behind it: blocked too, told which cycle.
  auto c = store->get("c");
  EXPECT_EQ(c->status, TaskStatus::blocked);
  EXPECT_EQ(c->blocked_reason, "dependency cycle among a, b");
  EXPECT_EQ(store->get("b")->depends_on, (std::vector<std::string>{"a"}));
  EXPECT_EQ(claim_id(*store), "");
  EXPECT_EQ(store->status().counts["blocked"], 3);
  // The way out: cancel a member; the rest stays blocked, now behind the cancel.
  EXPECT_TRUE(store->cancel("a"));
  EXPECT_EQ(store->get("b")->status, TaskStatus::blocked);
  EXPECT_EQ(claim_id(*store), "");
}

TEST_P(SyncConformance, CycleBlockingIsTheSameWhateverOrderTheTasksArriveIn) {
  // Three tasks on one cycle (x -> y -> z -> x), one more (w) on a second cycle through
  // y, and a tail (t) waiting on z, delivered in every order, one by one or in one call.
  std::vector<Task> tasks = {submitted_elsewhere("x", {"y"}), submitted_elsewhere("y", {"z", "w"}),
                             submitted_elsewhere("z", {"x"}), submitted_elsewhere("w", {"y"}),
                             submitted_elsewhere("t", {"z"})};
  std::vector<std::size_t> order = {0, 1, 2, 3, 4};
  std::optional<std::vector<std::pair<TaskStatus, std::string>>> first;
  int run = 0;
  do {
    for (bool one_call : {false, true}) {
      auto store = open(options(), std::to_string(++run));
      std::vector<TaskImport> items;
      for (auto i : order) {
        items.push_back(if_absent(tasks[i]));
      }
      if (one_call) {
        EXPECT_EQ(import(*store, items), items.size());
      } else {
        for (const auto& item : items) {
          EXPECT_EQ(import(*store, {item}), 1u);
        }
      }
      std::vector<std::pair<TaskStatus, std::string>> got;
      for (const char* id : {"w", "x", "y", "z", "t"}) {
        auto t = store->get(id);
        got.emplace_back(t->status, t->blocked_reason);
      }
      if (!first) {
        first = got;
        for (const auto& [status, reason] : got) {
          EXPECT_EQ(status, TaskStatus::blocked);
          EXPECT_EQ(reason, "dependency cycle among w, x, y, z");
        }
      }
      EXPECT_EQ(got, *first) << "order " << order[0] << order[1] << order[2] << order[3] << order[4]
                             << (one_call ? " in one call" : " one by one");
    }
  } while (std::next_permutation(order.begin(), order.end()) && run < 40);
}

TEST_P(SyncConformance, ACompletedTaskBreaksACycleAndANonPendingImportIsNotBlocked) {
  auto store = open();
  Millis now = m_clock->now_ms();
  // p completed elsewhere (it waited on q there under an older definition); q -> p
  // merely waits on a finished task.
  EXPECT_EQ(import(*store, {if_absent(completed_elsewhere(submitted_elsewhere("p", {"q"}), Json{{"v", 1}}, now))}),
            1u);
  EXPECT_EQ(import(*store, {if_absent(submitted_elsewhere("q", {"p"}))}), 1u);
  EXPECT_EQ(store->get("q")->status, TaskStatus::pending);
  EXPECT_EQ(claim_id(*store), "q");
  // A running import on a cycle stays running: its lease is another machine's.
  Task r = submitted_elsewhere("r", {"s"});
  r.status = TaskStatus::running;
  r.attempts = 1;
  r.machine_id = "elsewhere";
  r.started_at_ms = now;
  r.lease_expires_ms = now + 60'000;
  EXPECT_EQ(import(*store, {if_absent(submitted_elsewhere("s", {"r"})), if_absent(r)}), 2u);
  EXPECT_EQ(store->get("r")->status, TaskStatus::running);
}

// ---------------------------------------------------------------- import: running

TEST_P(SyncConformance, RunningImportIsReclaimedOnlyWhenItsLeaseEndsAndNoWorkerHoldsItsToken) {
  auto store = open();
  add(*store, make_task("r"));
  auto local = store->claim(request({"analysis:standard"}, "here"));
  ASSERT_TRUE(local);

  // The merge says another machine runs attempt 2 (it reclaimed the task there).
  Millis now = m_clock->now_ms();
  Task there = *store->get("r");
  there.attempts = 2;
  there.machine_id = "there";
  there.started_at_ms = now - 1'000;
  there.lease_expires_ms = now + 5'000;
  there.progress = 10.0;
  EXPECT_EQ(import(*store, {if_still(there, TaskStatus::running, 1)}), 1u);
  auto got = store->get("r");
  EXPECT_EQ(got->status, TaskStatus::running);
  EXPECT_EQ(got->machine_id, "there");
  EXPECT_EQ(got->attempts, 2);
  EXPECT_EQ(got->lease_expires_ms, now + 5'000);
  auto s = store->status();
  EXPECT_EQ(s.queues["analysis:standard"].running, 1);
  ASSERT_EQ(s.running.size(), 1u);
  EXPECT_EQ(s.running[0].machine_id, "there");

  // The local holder's token is gone, and no token is known to anyone here.
  EXPECT_EQ(store->renew("r", local->token, k_lease_ms), LeaseResult::lease_lost);
  EXPECT_EQ(store->complete("r", local->token, Json::object(), {}), LeaseResult::lease_lost);
  EXPECT_EQ(store->complete("r", "", Json::object(), {}), LeaseResult::lease_lost);
  EXPECT_EQ(store->get("r")->status, TaskStatus::running);

  EXPECT_EQ(claim_id(*store), "");
  m_clock->advance_ms(4'999);
  EXPECT_EQ(store->reclaim_expired(), 0u);
  EXPECT_EQ(claim_id(*store), "");
  m_clock->advance_ms(1);
  auto lease = store->claim(request({"analysis:standard"}, "here"));
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->task.id, "r");
  EXPECT_EQ(lease->task.attempts, 3);
  EXPECT_EQ(lease->task.machine_id, "here");
  EXPECT_EQ(store->complete("r", lease->token, {{"ok", true}}, {}), LeaseResult::ok);
}

// ---------------------------------------------------------------- waking

TEST_P(SyncConformance, ImportWakesAWaitingClaimer) {
  auto waiter_store = open();
  auto importer = open();
  std::optional<Lease> got;
  std::thread waiter([&] { got = waiter_store->claim_wait(request({"gpu:high"}), 20s); });
  // Not synchronisation: the assertion holds whether or not the waiter is already
  // blocked; the pause only makes it likely that the wake-up path is exercised.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(import(*importer, {if_absent(make_task("imported", "gpu:high"))}), 1u);
  waiter.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->task.id, "imported");
}

// ---------------------------------------------------------------- machines

TEST_P(SyncConformance, ImportMachineRecordsTheSnapshotAsGiven) {
  auto store = open();
  Millis now = m_clock->now_ms();
  MachineInfo far;
  far.machine_id = "far-rig";
  far.profile = "cpu_arm_high";
  far.queues = {"cpu:parallel", "analysis:standard"};
  far.hardware = {{"cores", 64}, {"os", "linux"}};
  far.last_seen_ms = now - 120'000; // older than the TTL
  far.tasks_done = 17;
  far.cpu_hours = 12.5;
  far.gpu_hours = 0.25;
  far.wall_hours = 3.75;
  store->import_machine(far);
  MachineInfo near = far;
  near.machine_id = "near-rig";
  near.last_seen_ms = now - 1'000;
  near.tasks_done = 0;
  store->import_machine(near);

  auto ms = store->machines();
  ASSERT_EQ(ms.size(), 2u);
  const MachineInfo& f = ms[0].machine_id == "far-rig" ? ms[0] : ms[1];
  const MachineInfo& n = ms[0].machine_id == "far-rig" ? ms[1] : ms[0];
  EXPECT_EQ(f.machine_id, "far-rig");
  EXPECT_EQ(f.profile, "cpu_arm_high");
  EXPECT_EQ(f.queues, far.queues);
  EXPECT_EQ(f.hardware, far.hardware);
  EXPECT_EQ(f.last_seen_ms, now - 120'000);
  EXPECT_FALSE(f.live);
  EXPECT_EQ(f.tasks_done, 17);
  EXPECT_DOUBLE_EQ(f.cpu_hours, 12.5);
  EXPECT_DOUBLE_EQ(f.gpu_hours, 0.25);
  EXPECT_DOUBLE_EQ(f.wall_hours, 3.75);
  EXPECT_EQ(n.machine_id, "near-rig");
  EXPECT_TRUE(n.live);
  EXPECT_EQ(n.tasks_done, 0);

  // A later snapshot replaces the record, odometer included (not added to it).
  far.last_seen_ms = now - 30'000;
  far.tasks_done = 18;
  far.wall_hours = 4.0;
  store->import_machine(far);
  for (const auto& m : store->machines()) {
    if (m.machine_id == "far-rig") {
      EXPECT_EQ(m.last_seen_ms, now - 30'000);
      EXPECT_TRUE(m.live);
      EXPECT_EQ(m.tasks_done, 18);
      EXPECT_DOUBLE_EQ(m.wall_hours, 4.0);
      EXPECT_DOUBLE_EQ(m.cpu_hours, 12.5);
    }
  }
  EXPECT_EQ(store->status().machines.size(), 2u);

  MachineInfo nameless = far;
  nameless.machine_id.clear();
  EXPECT_THROW(store->import_machine(nameless), InputError);
}

// ---------------------------------------------------------------- reroute

TEST_P(SyncConformance, RerouteMovesAPendingTaskKeepingItsPlaceInOrder) {
  auto store = open();
  add(*store, make_task("a_high", "gpu:high", Priority::high));
  add(*store, make_task("a_medium_old", "gpu:high", Priority::medium));
  add(*store, make_task("a_stays", "gpu:high", Priority::medium));
  add(*store, make_task("c_medium_new", "cpu:parallel", Priority::medium));
  add(*store, make_task("c_low", "cpu:parallel", Priority::low));

  EXPECT_TRUE(store->reroute("a_medium_old", "cpu:parallel"));
  EXPECT_TRUE(store->reroute("a_high", "cpu:parallel"));
  EXPECT_EQ(store->get("a_medium_old")->queue, "cpu:parallel");
  EXPECT_EQ(store->get("a_medium_old")->status, TaskStatus::pending);
  auto s = store->status();
  EXPECT_EQ(s.queues["gpu:high"].pending, 1);
  EXPECT_EQ(s.queues["cpu:parallel"].pending, 4);

  EXPECT_EQ(claim_id(*store, request({"gpu:high"})), "a_stays");
  EXPECT_EQ(claim_id(*store, request({"gpu:high"})), "");
  EXPECT_EQ(claim_id(*store, request({"cpu:parallel"})), "a_high");
  EXPECT_EQ(claim_id(*store, request({"cpu:parallel"})), "a_medium_old"); // older than c_medium_new
  EXPECT_EQ(claim_id(*store, request({"cpu:parallel"})), "c_medium_new");
  EXPECT_EQ(claim_id(*store, request({"cpu:parallel"})), "c_low");
}

TEST_P(SyncConformance, RerouteMovesWaitingAndDelayedTasksToo) {
  auto store = open();
  add(*store, {make_task("dep", "cpu:sequential"),
               make_task("waits", "gpu:high", Priority::medium, {}, {"dep"}),
               make_task("retries", "gpu:high")});
  auto retry = store->claim(request({"gpu:high"}));
  ASSERT_TRUE(retry);
  ASSERT_EQ(retry->task.id, "retries");
  ASSERT_EQ(store->fail("retries", retry->token, "flaky", true), LeaseResult::ok); // delayed

  EXPECT_TRUE(store->reroute("waits", "gpu:standard"));
  EXPECT_TRUE(store->reroute("retries", "gpu:standard"));
  EXPECT_EQ(store->get("waits")->queue, "gpu:standard");
  EXPECT_EQ(store->get("retries")->queue, "gpu:standard");

  auto dep = store->claim(request({"cpu:sequential"}));
  ASSERT_TRUE(dep);
  ASSERT_EQ(store->complete("dep", dep->token, Json::object(), {}), LeaseResult::ok);
  m_clock->advance_ms(10 * 60'000); // past any backoff
  std::set<std::string> claimed = {claim_id(*store, request({"gpu:high", "gpu:standard"})),
                                   claim_id(*store, request({"gpu:high", "gpu:standard"}))};
  EXPECT_EQ(claimed, (std::set<std::string>{"waits", "retries"}));
  auto s = store->status();
  EXPECT_EQ(s.queues["gpu:standard"].running, 2);
  EXPECT_EQ(s.queues["gpu:high"].running, 0);
}

TEST_P(SyncConformance, RerouteRefusesTasksThatAreNotPendingAndUnknownQueues) {
  auto store = open();
  add(*store, {make_task("running"), make_task("done"), make_task("idle")});
  auto first = store->claim(request());
  ASSERT_TRUE(first);
  ASSERT_EQ(first->task.id, "running"); // FIFO head stays running; the next one completes
  auto second = store->claim(request());
  ASSERT_TRUE(second);
  ASSERT_EQ(second->task.id, "done");
  ASSERT_EQ(store->complete("done", second->token, Json::object(), {}), LeaseResult::ok);

  EXPECT_FALSE(store->reroute("running", "gpu:high"));
  EXPECT_FALSE(store->reroute("done", "gpu:high"));
  EXPECT_FALSE(store->reroute("nobody", "gpu:high"));
  EXPECT_EQ(store->get("running")->queue, "analysis:standard");
  EXPECT_EQ(store->get("done")->queue, "analysis:standard");
  try {
    store->reroute("idle", "gpu:huge");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("queue"), std::string::npos) << msg;
    EXPECT_NE(msg.find("gpu:huge"), std::string::npos) << msg;
  }
  EXPECT_EQ(store->get("idle")->queue, "analysis:standard");
  EXPECT_EQ(claim_id(*store), "idle");
}

// ---------------------------------------------------------------- persist

TEST_P(SyncConformance, PersistKeepsEverythingAndCanRepeat) {
  auto store = open();
  add(*store, {make_task("p1"), make_task("p2")});
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_NO_THROW(store->persist());
  EXPECT_NO_THROW(store->persist());
  auto other = open(); // another connection sees the same state
  EXPECT_EQ(other->get("p1")->status, TaskStatus::running);
  EXPECT_EQ(other->get("p2")->status, TaskStatus::pending);
  EXPECT_EQ(store->complete("p1", lease->token, Json::object(), {}), LeaseResult::ok);
}

INSTANTIATE_TEST_SUITE_P(Backends, SyncConformance, ::testing::Values("sqlite", "redis"), backend_name);

} // namespace
