// One suite, every backend: the semantics of docs/store-semantics.md, proven on SQLite
// and on Redis through the TaskStore interface only (no backend internals).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store_factory.hpp"
#include "store/store_fixture.hpp"
#include "support/redis_server.hpp"
#include "util/error.hpp"

using namespace nfl;
using namespace nfl::test;
using namespace std::chrono_literals;

namespace {

class StoreConformance : public StoreFixture {};

// ---------------------------------------------------------------- add

TEST_P(StoreConformance, AddsOneTaskAsPending) {
  auto store = open();
  Task t = make_task("one", "cpu:parallel", Priority::high, {{"season", 2024}});
  t.extra["custom"] = "kept";
  EXPECT_EQ(add(*store, t), AddOutcome::added);
  auto got = store->get("one");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, TaskStatus::pending);
  EXPECT_EQ(got->queue, "cpu:parallel");
  EXPECT_EQ(got->priority, Priority::high);
  EXPECT_EQ(got->config, (Json{{"season", 2024}}));
  EXPECT_EQ(got->extra.value("custom", ""), "kept");
  EXPECT_EQ(got->attempts, 0);
  EXPECT_TRUE(got->result.is_null());
  EXPECT_FALSE(store->get("missing"));
}

TEST_P(StoreConformance, AddsManyInOneBatchAndDuplicatesAreNotCreated) {
  auto store = open();
  std::vector<Task> batch;
  for (int i = 0; i < 500; ++i) {
    batch.push_back(make_task("batch_" + std::to_string(i)));
  }
  auto outcomes = store->add(batch);
  ASSERT_EQ(outcomes.size(), 500u);
  EXPECT_TRUE(std::all_of(outcomes.begin(), outcomes.end(), [](AddOutcome o) { return o == AddOutcome::added; }));

  // Re-adding: same ids, changed definition -> untouched.
  for (auto& t : batch) {
    t.name = "changed";
  }
  outcomes = store->add(batch);
  EXPECT_TRUE(
      std::all_of(outcomes.begin(), outcomes.end(), [](AddOutcome o) { return o == AddOutcome::already_exists; }));
  EXPECT_EQ(store->get("batch_7")->name, "batch_7");
  auto s = store->status();
  EXPECT_EQ(s.counts["pending"], 500);
  EXPECT_EQ(s.queues["analysis:standard"].pending, 500);

  // The same id twice in one batch is one task.
  auto twice = add(*store, {make_task("dup"), make_task("dup")});
  EXPECT_EQ(twice[0], AddOutcome::added);
  EXPECT_EQ(twice[1], AddOutcome::already_exists);
  EXPECT_EQ(store->status().counts["pending"], 501);
}

TEST_P(StoreConformance, UnknownDependencyRejectsTheWholeBatch) {
  auto store = open();
  std::vector<Task> batch = {make_task("good"), make_task("bad", "analysis:standard", Priority::medium, {}, {"nope"})};
  try {
    store->add(batch);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("bad"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nope"), std::string::npos) << msg;
  }
  EXPECT_FALSE(store->get("good"));
  EXPECT_FALSE(store->get("bad"));
  EXPECT_EQ(store->status().counts["pending"], 0);

  // A dependency earlier in the same batch is fine.
  auto ok = add(*store, {make_task("first"), make_task("second", "analysis:standard", Priority::medium, {}, {"first"})});
  EXPECT_EQ(ok[0], AddOutcome::added);
  EXPECT_EQ(ok[1], AddOutcome::added);
}

// ---------------------------------------------------------------- claim order

TEST_P(StoreConformance, ClaimsByQueueOrderThenPriorityThenFifo) {
  auto store = open();
  // Each add is its own call, with the clock standing still: order must come from
  // the store's enqueue sequence, not from timestamps.
  add(*store, make_task("low", "analysis:standard", Priority::low));
  add(*store, make_task("medium_old", "analysis:standard", Priority::medium));
  add(*store, make_task("critical", "analysis:standard", Priority::critical));
  add(*store, make_task("medium_new", "analysis:standard", Priority::medium));
  add(*store, make_task("background", "analysis:standard", Priority::background));
  add(*store, make_task("other_queue", "cpu:sequential", Priority::background));

  auto req = request({"cpu:sequential", "analysis:standard"});
  EXPECT_EQ(claim_id(*store, req), "other_queue"); // first queue in the request wins even at lower priority
  EXPECT_EQ(claim_id(*store, req), "critical");
  EXPECT_EQ(claim_id(*store, req), "medium_old"); // older task of the same priority first
  EXPECT_EQ(claim_id(*store, req), "medium_new");
  EXPECT_EQ(claim_id(*store, req), "low");
  EXPECT_EQ(claim_id(*store, req), "background");
  EXPECT_EQ(claim_id(*store, req), "");
}

TEST_P(StoreConformance, FifoWithinPriorityInsideOneBatchAndAcrossBatches) {
  auto store = open();
  std::vector<Task> batch;
  for (int i = 0; i < 20; ++i) {
    batch.push_back(make_task("f" + std::to_string(i), "gpu:high", Priority::high));
  }
  store->add(batch);
  add(*store, make_task("f_later", "gpu:high", Priority::high));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(claim_id(*store, request({"gpu:high"})), "f" + std::to_string(i));
  }
  EXPECT_EQ(claim_id(*store, request({"gpu:high"})), "f_later");
}

TEST_P(StoreConformance, ClaimOnlyFromRequestedQueues) {
  auto store = open();
  add(*store, make_task("gpu", "gpu:high"));
  EXPECT_EQ(claim_id(*store, request({"cpu:parallel", "analysis:standard"})), "");
  auto lease = store->claim(request({"gpu:high"}, "gpu-box"));
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->task.status, TaskStatus::running);
  EXPECT_EQ(lease->task.attempts, 1);
  EXPECT_EQ(lease->task.machine_id, "gpu-box");
  EXPECT_FALSE(lease->token.empty());
  EXPECT_EQ(lease->expires_ms, m_clock->now_ms() + k_lease_ms);
}

TEST_P(StoreConformance, ConcurrentClaimsTakeEachTaskExactlyOnce) {
  constexpr int k_tasks = 400;
  constexpr int k_threads = 4;
  // Threads 0 and 1 share one store object; 2 and 3 have their own connections.
  std::vector<std::unique_ptr<TaskStore>> stores;
  for (int i = 0; i < 3; ++i) {
    stores.push_back(open());
  }
  std::vector<Task> batch;
  for (int i = 0; i < k_tasks; ++i) {
    batch.push_back(make_task("c" + std::to_string(i)));
  }
  stores[0]->add(batch);

  std::vector<std::vector<std::string>> claimed(k_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      TaskStore& store = *stores[t <= 1 ? 0 : t - 1];
      auto req = request({"analysis:standard"}, "m" + std::to_string(t));
      while (auto lease = store.claim(req)) {
        claimed[t].push_back(lease->task.id);
        EXPECT_EQ(store.complete(lease->task.id, lease->token, {{"by", t}}, {}), LeaseResult::ok);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  std::multiset<std::string> all;
  for (const auto& v : claimed) {
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(k_tasks));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), static_cast<std::size_t>(k_tasks));
  auto s = stores[0]->status();
  EXPECT_EQ(s.counts["completed"], k_tasks);
  EXPECT_EQ(s.rejected_completions, 0);
  for (int t = 0; t < k_threads; ++t) {
    std::printf("[ conformance ] %s: thread %d claimed %zu\n", GetParam().c_str(), t, claimed[t].size());
  }
}

// ---------------------------------------------------------------- leases

TEST_P(StoreConformance, ExpiredLeaseIsReclaimedAndTheDeadHoldersLateCompletionIsRejected) {
  auto a = open(); // the worker that dies
  auto b = open(); // the one that picks the task up
  add(*a, make_task("victim"));
  auto first = a->claim(request({"analysis:standard"}, "machine-a"));
  ASSERT_TRUE(first);
  EXPECT_EQ(a->renew("victim", first->token, k_lease_ms), LeaseResult::ok);

  // A stops renewing. Before the lease ends nobody else can take the task.
  m_clock->advance_ms(k_lease_ms - 1);
  EXPECT_FALSE(b->claim(request({"analysis:standard"}, "machine-b")));
  m_clock->advance_ms(2);
  auto second = b->claim(request({"analysis:standard"}, "machine-b"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->task.id, "victim");
  EXPECT_EQ(second->task.attempts, 2);
  EXPECT_EQ(second->task.machine_id, "machine-b");
  EXPECT_NE(second->token, first->token);

  // The first holder wakes up: every fenced call is refused, the completion counted.
  EXPECT_EQ(a->renew("victim", first->token, k_lease_ms), LeaseResult::lease_lost);
  EXPECT_EQ(a->complete("victim", first->token, {{"from", "a"}}, {}), LeaseResult::lease_lost);
  EXPECT_EQ(a->fail("victim", first->token, "late"), LeaseResult::lease_lost);
  EXPECT_EQ(a->release("victim", first->token), LeaseResult::lease_lost);
  EXPECT_EQ(b->status().rejected_completions, 1);
  EXPECT_EQ(b->get("victim")->status, TaskStatus::running);

  EXPECT_EQ(b->complete("victim", second->token, {{"from", "b"}}, {}), LeaseResult::ok);
  // A duplicate completion by the rightful holder is refused too, never recorded twice.
  EXPECT_EQ(b->complete("victim", second->token, {{"from", "b2"}}, {}), LeaseResult::lease_lost);
  EXPECT_EQ(a->complete("victim", first->token, {{"from", "a"}}, {}), LeaseResult::lease_lost);
  auto done = b->get("victim");
  EXPECT_EQ(done->status, TaskStatus::completed);
  EXPECT_EQ(done->result, (Json{{"from", "b"}}));
  EXPECT_EQ(done->attempts, 2);
  EXPECT_EQ(b->status().rejected_completions, 3);
  EXPECT_EQ(b->status().counts["completed"], 1);
}

TEST_P(StoreConformance, CompleteAndClaimRecordsTheResultAndHandsOverTheNextTask) {
  auto store = open();
  add(*store, {make_task("first", "analysis:standard", Priority::low), make_task("dependent", "analysis:standard",
                                                                                Priority::critical, {}, {"first"}),
               make_task("second", "analysis:standard", Priority::low)});
  auto first = store->claim(request({"analysis:standard"}, "machine-a"));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->task.id, "first");

  // The completion releases "dependent" (critical), and the same call claims it: the
  // claim sees the completion's effects.
  auto both = store->complete_and_claim("first", first->token, {{"n", 1}}, {0.5, 0.25, 0.0},
                                        request({"analysis:standard"}, "machine-a"));
  EXPECT_EQ(both.completed, LeaseResult::ok);
  ASSERT_TRUE(both.next);
  EXPECT_EQ(both.next->task.id, "dependent");
  EXPECT_EQ(both.next->task.status, TaskStatus::running);
  EXPECT_EQ(both.next->task.attempts, 1);
  EXPECT_EQ(both.next->task.machine_id, "machine-a");
  EXPECT_NE(both.next->token, first->token);
  auto done = store->get("first");
  EXPECT_EQ(done->status, TaskStatus::completed);
  EXPECT_EQ(done->result, (Json{{"n", 1}}));

  // A refused completion (stale token) is counted and changes nothing, and the
  // slot still gets work.
  auto stale = store->complete_and_claim("first", first->token, {{"n", 2}}, {},
                                         request({"analysis:standard"}, "machine-a"));
  EXPECT_EQ(stale.completed, LeaseResult::lease_lost);
  ASSERT_TRUE(stale.next);
  EXPECT_EQ(stale.next->task.id, "second");
  EXPECT_EQ(store->get("first")->result, (Json{{"n", 1}}));
  EXPECT_EQ(store->status().rejected_completions, 1);

  // The next lease is fenced like any claim's.
  EXPECT_EQ(store->complete("dependent", both.next->token, {{"n", 3}}, {}), LeaseResult::ok);
  auto last = store->complete_and_claim("second", stale.next->token, {{"n", 4}}, {},
                                        request({"analysis:standard"}, "machine-a"));
  EXPECT_EQ(last.completed, LeaseResult::ok);
  EXPECT_FALSE(last.next); // nothing left
  EXPECT_EQ(store->status().counts["completed"], 3);
  EXPECT_EQ(store->status().counts["running"], 0);

  // An unknown queue in the claim half is the same error as claim()'s, before anything
  // is written.
  add(*store, make_task("third"));
  auto third = store->claim(request({"analysis:standard"}, "machine-a"));
  ASSERT_TRUE(third);
  EXPECT_THROW(store->complete_and_claim("third", third->token, {}, {}, request({"no:such"}, "machine-a")),
               InputError);
  EXPECT_EQ(store->get("third")->status, TaskStatus::running);
}

TEST_P(StoreConformance, ReclaimExpiredMovesTasksBackOrFailsThemWhenOutOfAttempts) {
  auto store = open();
  Task retry = make_task("retry_me");
  Task last = make_task("last_try");
  last.max_attempts = 1;
  add(*store, {retry, last});
  ASSERT_TRUE(store->claim(request()));
  ASSERT_TRUE(store->claim(request()));
  EXPECT_EQ(store->reclaim_expired(), 0u);
  m_clock->advance_ms(k_lease_ms + 1);
  EXPECT_EQ(store->reclaim_expired(), 2u);
  EXPECT_EQ(store->get("retry_me")->status, TaskStatus::pending);
  auto failed = store->get("last_try");
  EXPECT_EQ(failed->status, TaskStatus::failed);
  EXPECT_NE(failed->error.find("lease expired"), std::string::npos) << failed->error;
  EXPECT_EQ(claim_id(*store), "retry_me");
}

TEST_P(StoreConformance, RenewExtendsTheLeaseAndRecordsProgress) {
  auto store = open();
  add(*store, make_task("long"));
  auto lease = store->claim(request({"analysis:standard"}, "worker-1"));
  ASSERT_TRUE(lease);
  m_clock->advance_ms(20'000);
  EXPECT_EQ(store->renew("long", lease->token, k_lease_ms, 42.5, std::string("halfway")), LeaseResult::ok);
  EXPECT_EQ(store->get("long")->lease_expires_ms, m_clock->now_ms() + k_lease_ms);
  m_clock->advance_ms(20'000); // past the original lease, inside the renewed one
  EXPECT_FALSE(store->claim(request({"analysis:standard"}, "thief")));
  EXPECT_EQ(store->reclaim_expired(), 0u);

  auto got = store->get("long");
  EXPECT_EQ(got->status, TaskStatus::running);
  EXPECT_DOUBLE_EQ(got->progress, 42.5);
  EXPECT_EQ(got->progress_message, "halfway");
  auto s = store->status();
  ASSERT_EQ(s.running.size(), 1u);
  EXPECT_EQ(s.running[0].id, "long");
  EXPECT_EQ(s.running[0].machine_id, "worker-1");
  EXPECT_EQ(s.running[0].attempts, 1);
  EXPECT_DOUBLE_EQ(s.running[0].progress, 42.5);

  // Renew without progress keeps the last progress.
  EXPECT_EQ(store->renew("long", lease->token, k_lease_ms), LeaseResult::ok);
  EXPECT_DOUBLE_EQ(store->get("long")->progress, 42.5);
  m_clock->advance_ms(k_lease_ms + 1);
  EXPECT_EQ(claim_id(*store, request({"analysis:standard"}, "thief")), "long");
  EXPECT_EQ(store->renew("nope", lease->token, k_lease_ms), LeaseResult::not_found);
}

// ---------------------------------------------------------------- fail, retry, requeue, cancel

TEST_P(StoreConformance, FailRetriesWithExponentialBackoffAndJitter) {
  auto store = open();
  Task t = make_task("flaky");
  t.max_attempts = 3;
  add(*store, t);

  auto l1 = store->claim(request());
  ASSERT_TRUE(l1);
  Millis t1 = m_clock->now_ms();
  EXPECT_EQ(store->fail("flaky", l1->token, "boom 1"), LeaseResult::ok);
  auto after1 = store->get("flaky");
  EXPECT_EQ(after1->status, TaskStatus::pending);
  EXPECT_EQ(after1->error, "boom 1");
  // base 1 s * 2^0, jitter in [0, 25 %)
  EXPECT_GE(after1->not_before_ms, t1 + 1'000);
  EXPECT_LT(after1->not_before_ms, t1 + 1'250);
  EXPECT_EQ(store->status().queues["analysis:standard"].pending, 1); // delayed still counts as pending

  EXPECT_FALSE(store->claim(request()));
  m_clock->advance_ms(999);
  EXPECT_FALSE(store->claim(request()));
  m_clock->set_ms(after1->not_before_ms);
  auto l2 = store->claim(request());
  ASSERT_TRUE(l2);
  EXPECT_EQ(l2->task.attempts, 2);

  Millis t2 = m_clock->now_ms();
  EXPECT_EQ(store->fail("flaky", l2->token, "boom 2"), LeaseResult::ok);
  auto after2 = store->get("flaky");
  EXPECT_GE(after2->not_before_ms, t2 + 2'000); // base * 2^1
  EXPECT_LT(after2->not_before_ms, t2 + 2'500);
  m_clock->advance_ms(1'999);
  EXPECT_FALSE(store->claim(request()));
  m_clock->advance_ms(501);
  auto l3 = store->claim(request());
  ASSERT_TRUE(l3);
  EXPECT_EQ(l3->task.attempts, 3);

  // Out of attempts: terminal, error kept.
  EXPECT_EQ(store->fail("flaky", l3->token, "boom 3: final"), LeaseResult::ok);
  auto final_state = store->get("flaky");
  EXPECT_EQ(final_state->status, TaskStatus::failed);
  EXPECT_EQ(final_state->error, "boom 3: final");
  EXPECT_EQ(final_state->attempts, 3);
  m_clock->advance_ms(3'600'000);
  EXPECT_FALSE(store->claim(request()));
  EXPECT_EQ(store->status().counts["failed"], 1);
}

TEST_P(StoreConformance, BackoffIsCappedAtRetryMax) {
  StoreOptions o = options();
  o.retry_base_ms = 1'000;
  o.retry_max_ms = 3'000;
  auto store = open(o);
  Task t = make_task("capped");
  t.max_attempts = 10;
  add(*store, t);
  for (int attempt = 1; attempt <= 5; ++attempt) {
    auto lease = store->claim(request());
    ASSERT_TRUE(lease) << "attempt " << attempt;
    Millis now = m_clock->now_ms();
    ASSERT_EQ(store->fail("capped", lease->token, "again"), LeaseResult::ok);
    Millis delay = store->get("capped")->not_before_ms - now;
    Millis expected = std::min<Millis>(3'000, 1'000LL << (attempt - 1));
    EXPECT_GE(delay, expected) << "attempt " << attempt;
    EXPECT_LT(delay, expected + expected / 4 + 1) << "attempt " << attempt;
    m_clock->advance_ms(delay);
  }
}

TEST_P(StoreConformance, NonRetryableFailureIsTerminalAtOnceAndRequeueBringsItBack) {
  auto store = open();
  add(*store, make_task("fatal"));
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(store->fail("fatal", lease->token, "bad input file", false), LeaseResult::ok);
  auto failed = store->get("fatal");
  EXPECT_EQ(failed->status, TaskStatus::failed);
  EXPECT_EQ(failed->attempts, 1);
  EXPECT_EQ(failed->error, "bad input file");

  EXPECT_FALSE(store->requeue("missing"));
  EXPECT_TRUE(store->requeue("fatal"));
  auto again = store->get("fatal");
  EXPECT_EQ(again->status, TaskStatus::pending);
  EXPECT_EQ(again->attempts, 0);
  EXPECT_TRUE(again->error.empty());
  EXPECT_FALSE(store->requeue("fatal")); // pending: not requeueable
  auto relaunch = store->claim(request());
  ASSERT_TRUE(relaunch);
  EXPECT_EQ(relaunch->task.attempts, 1);
  EXPECT_FALSE(store->requeue("fatal")); // running
  EXPECT_EQ(store->complete("fatal", relaunch->token, {{"ok", true}}, {}), LeaseResult::ok);
  EXPECT_FALSE(store->requeue("fatal")); // completed
}

TEST_P(StoreConformance, ReleaseReturnsTheTaskWithoutCountingTheAttempt) {
  auto store = open();
  add(*store, make_task("polite"));
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(store->release("polite", lease->token, 5'000, "waiting for input"), LeaseResult::ok);
  auto t = store->get("polite");
  EXPECT_EQ(t->status, TaskStatus::pending);
  EXPECT_EQ(t->attempts, 0);
  EXPECT_TRUE(t->progress_message == "waiting for input" || t->blocked_reason == "waiting for input");
  EXPECT_FALSE(store->claim(request()));
  m_clock->advance_ms(5'000);
  auto again = store->claim(request());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->task.attempts, 1);
  EXPECT_EQ(store->release("polite", lease->token), LeaseResult::lease_lost); // the old token
  EXPECT_EQ(store->release("polite", again->token), LeaseResult::ok);
  EXPECT_EQ(claim_id(*store), "polite"); // no delay: claimable at once
}

TEST_P(StoreConformance, CancelPendingAndRunningTasks) {
  auto store = open();
  add(*store, {make_task("idle"), make_task("busy")});
  EXPECT_TRUE(store->cancel("idle"));
  EXPECT_EQ(store->get("idle")->status, TaskStatus::cancelled);
  EXPECT_FALSE(store->cancel("idle"));
  EXPECT_FALSE(store->cancel("missing"));

  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->task.id, "busy"); // the cancelled one left the queue
  EXPECT_TRUE(store->cancel("busy"));
  EXPECT_EQ(store->renew("busy", lease->token, k_lease_ms), LeaseResult::cancelled);
  EXPECT_EQ(store->complete("busy", lease->token, {{"x", 1}}, {}), LeaseResult::cancelled);
  EXPECT_EQ(store->fail("busy", lease->token, "x"), LeaseResult::cancelled);
  EXPECT_EQ(store->get("busy")->status, TaskStatus::cancelled);
  EXPECT_TRUE(store->get("busy")->result.is_null());
  EXPECT_FALSE(store->claim(request()));
  // The lease is gone: expiry does not bring a cancelled task back.
  m_clock->advance_ms(k_lease_ms + 1);
  EXPECT_EQ(store->reclaim_expired(), 0u);
  auto s = store->status();
  EXPECT_EQ(s.counts["cancelled"], 2);
  EXPECT_EQ(s.counts["running"], 0);
  EXPECT_EQ(s.queues["analysis:standard"].running, 0);

  // Cancelled -> requeue -> claimable again; completed tasks cannot be cancelled.
  EXPECT_TRUE(store->requeue("idle"));
  auto back = store->claim(request());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->task.id, "idle");
  EXPECT_EQ(store->complete("idle", back->token, Json::object(), {}), LeaseResult::ok);
  EXPECT_FALSE(store->cancel("idle"));
}

// ---------------------------------------------------------------- dependencies

TEST_P(StoreConformance, DependentsRunOnlyAfterEveryDependencyCompleted) {
  auto store = open();
  add(*store, {make_task("a"), make_task("b"), make_task("c", "analysis:standard", Priority::critical, {}, {"a", "b"})});
  auto s = store->status();
  EXPECT_EQ(s.counts["pending"], 3);
  EXPECT_EQ(s.queues["analysis:standard"].pending, 2); // c waits, not in the queue

  auto la = store->claim(request());
  auto lb = store->claim(request());
  ASSERT_TRUE(la && lb);
  EXPECT_EQ(la->task.id, "a");
  EXPECT_EQ(lb->task.id, "b");
  EXPECT_FALSE(store->claim(request()));
  EXPECT_EQ(store->complete("a", la->token, Json::object(), {}), LeaseResult::ok);
  EXPECT_FALSE(store->claim(request())); // b still running
  EXPECT_EQ(store->complete("b", lb->token, Json::object(), {}), LeaseResult::ok);
  EXPECT_EQ(claim_id(*store), "c");

  // A dependency that is already completed does not hold a new task back.
  add(*store, make_task("d", "analysis:standard", Priority::medium, {}, {"a"}));
  EXPECT_EQ(claim_id(*store), "d");
}

TEST_P(StoreConformance, TerminalFailureBlocksDependentsTransitivelyAndRequeueUnblocks) {
  auto store = open();
  add(*store, {make_task("root"), make_task("side"),
               make_task("child", "analysis:standard", Priority::medium, {}, {"root", "side"}),
               make_task("grandchild", "analysis:standard", Priority::medium, {}, {"child"})});
  auto lroot = store->claim(request()); // FIFO: root was enqueued first
  auto lside = store->claim(request());
  ASSERT_TRUE(lroot && lside);
  ASSERT_EQ(lroot->task.id, "root");
  ASSERT_EQ(lside->task.id, "side");
  EXPECT_EQ(store->complete("side", lside->token, Json::object(), {}), LeaseResult::ok);
  EXPECT_EQ(store->fail("root", lroot->token, "disk full", false), LeaseResult::ok);

  auto child = store->get("child");
  EXPECT_EQ(child->status, TaskStatus::blocked);
  EXPECT_NE(child->blocked_reason.find("root"), std::string::npos) << child->blocked_reason;
  auto grandchild = store->get("grandchild");
  EXPECT_EQ(grandchild->status, TaskStatus::blocked);
  EXPECT_FALSE(grandchild->blocked_reason.empty());
  EXPECT_EQ(store->status().counts["blocked"], 2);

  // A new task on a failed dependency is blocked from the start.
  EXPECT_EQ(add(*store, make_task("late", "analysis:standard", Priority::medium, {}, {"root"})), AddOutcome::added);
  EXPECT_EQ(store->get("late")->status, TaskStatus::blocked);

  // Requeue the failed root: dependents wait again (not claimable before root completes).
  EXPECT_TRUE(store->requeue("root"));
  EXPECT_EQ(store->get("child")->status, TaskStatus::pending);
  EXPECT_EQ(store->get("grandchild")->status, TaskStatus::pending);
  EXPECT_EQ(store->get("late")->status, TaskStatus::pending);
  EXPECT_EQ(store->get("child")->blocked_reason, "");
  auto again = store->claim(request());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->task.id, "root");
  EXPECT_FALSE(store->claim(request()));
  EXPECT_EQ(store->complete("root", again->token, Json::object(), {}), LeaseResult::ok);
  std::set<std::string> next = {claim_id(*store), claim_id(*store)};
  EXPECT_EQ(next, (std::set<std::string>{"child", "late"}));
  EXPECT_EQ(store->get("grandchild")->status, TaskStatus::pending);
  EXPECT_FALSE(store->claim(request()));
}

TEST_P(StoreConformance, CancellingADependencyBlocksDependents) {
  auto store = open();
  add(*store, {make_task("upstream"), make_task("downstream", "analysis:standard", Priority::medium, {}, {"upstream"})});
  EXPECT_TRUE(store->cancel("upstream"));
  auto d = store->get("downstream");
  EXPECT_EQ(d->status, TaskStatus::blocked);
  EXPECT_NE(d->blocked_reason.find("upstream"), std::string::npos) << d->blocked_reason;
  // A blocked task can be cancelled, and requeued.
  EXPECT_TRUE(store->requeue("upstream"));
  EXPECT_EQ(store->get("downstream")->status, TaskStatus::pending);
  EXPECT_EQ(claim_id(*store), "upstream");
}

TEST_P(StoreConformance, RequeueOfABlockedTaskWaitsForItsDependencies) {
  auto store = open();
  add(*store, {make_task("dep"), make_task("user", "analysis:standard", Priority::medium, {}, {"dep"})});
  auto l = store->claim(request());
  ASSERT_TRUE(l);
  EXPECT_EQ(store->fail("dep", l->token, "nope", false), LeaseResult::ok);
  EXPECT_EQ(store->get("user")->status, TaskStatus::blocked);
  EXPECT_TRUE(store->requeue("user"));
  EXPECT_EQ(store->get("user")->status, TaskStatus::pending);
  EXPECT_FALSE(store->claim(request())); // still waits on "dep"
  EXPECT_TRUE(store->cancel("user"));
  EXPECT_EQ(store->get("user")->status, TaskStatus::cancelled);
}

// ---------------------------------------------------------------- caching

TEST_P(StoreConformance, IdenticalTypeAndConfigCompletesFromCache) {
  auto store = open();
  Json config = {{"season", 2024}, {"weeks", {1, 2, 3}}};
  add(*store, make_task("orig", "analysis:standard", Priority::medium, config, {}, "elo"));
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  Json result = {{"rating", 1532.5}};
  EXPECT_EQ(store->complete("orig", lease->token, result, {}), LeaseResult::ok);

  // Same type and config (key order differs in the source text: canonical form).
  Json same = Json::parse(R"({"weeks": [1, 2, 3], "season": 2024})");
  EXPECT_EQ(add(*store, make_task("copy", "analysis:standard", Priority::low, same, {}, "elo")), AddOutcome::cached);
  auto copy = store->get("copy");
  EXPECT_EQ(copy->status, TaskStatus::completed);
  EXPECT_TRUE(copy->cached);
  EXPECT_EQ(copy->result, result);
  EXPECT_FALSE(store->claim(request()));

  EXPECT_EQ(add(*store, make_task("other_cfg", "analysis:standard", Priority::medium, {{"season", 2023}}, {}, "elo")),
            AddOutcome::added);
  EXPECT_EQ(add(*store, make_task("other_type", "analysis:standard", Priority::medium, config, {}, "glicko")),
            AddOutcome::added);
  EXPECT_FALSE(store->get("other_cfg")->cached);
}

TEST_P(StoreConformance, CachingOffRunsEveryTask) {
  StoreOptions o = options();
  o.enable_caching = false;
  auto store = open(o, "nocache");
  add(*store, make_task("orig", "analysis:standard", Priority::medium, {{"k", 1}}, {}, "elo"));
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(store->complete("orig", lease->token, {{"r", 1}}, {}), LeaseResult::ok);
  EXPECT_EQ(add(*store, make_task("copy", "analysis:standard", Priority::medium, {{"k", 1}}, {}, "elo")),
            AddOutcome::added);
  EXPECT_EQ(claim_id(*store), "copy");
}

// ---------------------------------------------------------------- machines

TEST_P(StoreConformance, MachineHeartbeatsExpireAndTheOdometerSurvivesHeartbeats) {
  auto store = open();
  MachineInfo m;
  m.machine_id = "rig-01";
  m.profile = "gpu_high";
  m.queues = {"gpu:high", "gpu:standard", "analysis:standard"};
  m.hardware = {{"cores", 16}};
  store->heartbeat(m);
  auto ms = store->machines();
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].machine_id, "rig-01");
  EXPECT_EQ(ms[0].profile, "gpu_high");
  EXPECT_EQ(ms[0].queues, m.queues);
  EXPECT_EQ(ms[0].hardware, m.hardware);
  EXPECT_EQ(ms[0].last_seen_ms, m_clock->now_ms());
  EXPECT_TRUE(ms[0].live);

  m_clock->advance_ms(60'000); // exactly the TTL: still live
  EXPECT_TRUE(store->machines()[0].live);
  m_clock->advance_ms(1);
  EXPECT_FALSE(store->machines()[0].live);
  store->heartbeat(m);
  EXPECT_TRUE(store->machines()[0].live);

  add(*store, make_task("work"));
  auto lease = store->claim(request({"analysis:standard"}, "rig-01"));
  ASSERT_TRUE(lease);
  Accounting acc{3600.0, 7200.0, 1800.0};
  EXPECT_EQ(store->complete("work", lease->token, Json::object(), acc), LeaseResult::ok);
  store->heartbeat(m);
  auto after = store->machines();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].tasks_done, 1);
  EXPECT_DOUBLE_EQ(after[0].wall_hours, 1.0);
  EXPECT_DOUBLE_EQ(after[0].cpu_hours, 2.0);
  EXPECT_DOUBLE_EQ(after[0].gpu_hours, 0.5);
  auto done = store->get("work");
  EXPECT_DOUBLE_EQ(done->wall_seconds, 3600.0);
  EXPECT_DOUBLE_EQ(done->cpu_seconds, 7200.0);
  EXPECT_DOUBLE_EQ(done->gpu_seconds, 1800.0);

  auto s = store->status();
  ASSERT_EQ(s.machines.size(), 1u);
  EXPECT_EQ(s.machines[0].profile, "gpu_high");
}

// ---------------------------------------------------------------- retention

TEST_P(StoreConformance, TrimFinishedKeepsASummaryAndNeverTouchesLiveTasks) {
  auto store = open();
  add(*store, {make_task("done", "analysis:standard", Priority::medium, {{"big", std::string(2000, 'x')}}),
               make_task("broken"), make_task("waiting"), make_task("working"), make_task("recent")});
  auto ld = store->claim(request());
  auto lb = store->claim(request());
  ASSERT_TRUE(ld && lb);
  EXPECT_EQ(store->complete("done", ld->token, {{"rows", 123}}, {10.0, 20.0, 0.0}), LeaseResult::ok);
  std::string long_error(5000, 'e');
  EXPECT_EQ(store->fail("broken", lb->token, long_error, false), LeaseResult::ok);
  EXPECT_TRUE(store->cancel("waiting"));
  EXPECT_TRUE(store->requeue("waiting")); // pending again
  auto lw = store->claim(request());
  ASSERT_TRUE(lw);
  EXPECT_EQ(lw->task.id, "working");
  m_clock->advance_ms(1'000);
  Millis cutoff = m_clock->now_ms();
  m_clock->advance_ms(1'000);
  // "recent" finishes after the cutoff.
  auto lr = store->claim(request({"analysis:standard"}, "m1"));
  ASSERT_TRUE(lr);
  EXPECT_EQ(lr->task.id, "recent");
  EXPECT_EQ(store->complete("recent", lr->token, {{"rows", 1}}, {}), LeaseResult::ok);

  EXPECT_EQ(store->trim_finished(cutoff), 2u);
  auto done = store->get("done");
  EXPECT_TRUE(done->trimmed);
  EXPECT_EQ(done->status, TaskStatus::completed);
  EXPECT_TRUE(done->result.is_null());
  EXPECT_TRUE(done->config.empty());
  EXPECT_EQ(done->task_type, "unit_test");
  EXPECT_EQ(done->queue, "analysis:standard");
  EXPECT_EQ(done->attempts, 1);
  EXPECT_GT(done->finished_at_ms, 0);
  EXPECT_DOUBLE_EQ(done->cpu_seconds, 20.0);
  auto broken = store->get("broken");
  EXPECT_TRUE(broken->trimmed);
  EXPECT_EQ(broken->status, TaskStatus::failed);
  EXPECT_LE(broken->error.size(), 1024u);
  EXPECT_GE(broken->error.size(), 100u);
  EXPECT_EQ(long_error.substr(0, broken->error.size()), broken->error);

  for (const char* id : {"waiting", "working", "recent"}) {
    auto t = store->get(id);
    EXPECT_FALSE(t->trimmed) << id;
  }
  EXPECT_EQ(store->get("recent")->result, (Json{{"rows", 1}}));
  EXPECT_EQ(store->get("working")->status, TaskStatus::running);

  // Even with a cutoff in the future, pending and running tasks stay whole.
  m_clock->advance_ms(10'000);
  EXPECT_EQ(store->trim_finished(m_clock->now_ms() + 1'000'000), 1u); // only "recent" is left to trim
  EXPECT_FALSE(store->get("waiting")->trimmed);
  EXPECT_FALSE(store->get("working")->trimmed);
  EXPECT_EQ(store->trim_finished(m_clock->now_ms() + 1'000'000), 0u);
  EXPECT_EQ(store->status().counts["completed"], 2);
}

TEST_P(StoreConformance, ATrimmedResultIsNeverServedFromTheCache) {
  auto store = open();
  add(*store, make_task("orig", "analysis:standard", Priority::medium, {{"k", 1}}, {}, "elo"));
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(store->complete("orig", lease->token, {{"r", 1}}, {}), LeaseResult::ok);
  m_clock->advance_ms(10);
  EXPECT_EQ(store->trim_finished(m_clock->now_ms()), 1u);
  EXPECT_EQ(add(*store, make_task("again", "analysis:standard", Priority::medium, {{"k", 1}}, {}, "elo")),
            AddOutcome::added);
}

// ---------------------------------------------------------------- status, list

TEST_P(StoreConformance, StatusHasAllSixQueuesAndStatusesEvenWhenEmpty) {
  auto store = open();
  auto s = store->status();
  ASSERT_EQ(s.queues.size(), 6u);
  for (auto q : k_queues) {
    ASSERT_TRUE(s.queues.contains(std::string(q))) << q;
    EXPECT_EQ(s.queues[std::string(q)].pending, 0);
    EXPECT_EQ(s.queues[std::string(q)].running, 0);
  }
  ASSERT_EQ(s.counts.size(), 6u);
  for (auto st : k_statuses) {
    ASSERT_TRUE(s.counts.contains(std::string(to_string(st)))) << to_string(st);
    EXPECT_EQ(s.counts[std::string(to_string(st))], 0);
  }
  EXPECT_TRUE(s.running.empty());
  EXPECT_TRUE(s.machines.empty());
  EXPECT_EQ(s.rejected_completions, 0);

  add(*store, {make_task("g1", "gpu:high"), make_task("g2", "gpu:high"), make_task("p1", "cpu:parallel"),
               make_task("d1", "data:pipeline")});
  auto lease = store->claim(request({"gpu:high"}));
  ASSERT_TRUE(lease);
  s = store->status();
  EXPECT_EQ(s.queues["gpu:high"].pending, 1);
  EXPECT_EQ(s.queues["gpu:high"].running, 1);
  EXPECT_EQ(s.queues["cpu:parallel"].pending, 1);
  EXPECT_EQ(s.queues["data:pipeline"].pending, 1);
  EXPECT_EQ(s.queues["gpu:standard"].pending, 0);
  EXPECT_EQ(s.counts["pending"], 3);
  EXPECT_EQ(s.counts["running"], 1);
  EXPECT_EQ(s.queues.size(), 6u);
}

TEST_P(StoreConformance, ThroughputCountsCompletionsInTheLastFiveMinutesAndHour) {
  auto store = open();
  add(*store, {make_task("x1"), make_task("x2"), make_task("x3")});
  for (int i = 0; i < 2; ++i) {
    auto lease = store->claim(request());
    ASSERT_TRUE(lease);
    EXPECT_EQ(store->complete(lease->task.id, lease->token, Json::object(), {}), LeaseResult::ok);
  }
  m_clock->advance_ms(10 * 60'000);
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(store->complete(lease->task.id, lease->token, Json::object(), {}), LeaseResult::ok);
  auto s = store->status();
  EXPECT_EQ(s.completed_last_5m, 1);
  EXPECT_EQ(s.completed_last_1h, 3);
  m_clock->advance_ms(55 * 60'000);
  s = store->status();
  EXPECT_EQ(s.completed_last_5m, 0);
  EXPECT_EQ(s.completed_last_1h, 1);
}

TEST_P(StoreConformance, ListFiltersByStatusTypeAndQueue) {
  auto store = open();
  add(*store, {make_task("l1", "gpu:high", Priority::medium, {}, {}, "elo"),
               make_task("l2", "cpu:parallel", Priority::medium, {}, {}, "elo"),
               make_task("l3", "cpu:parallel", Priority::medium, {}, {}, "glicko")});
  ASSERT_TRUE(store->claim(request({"gpu:high"})));
  auto ids = [](const std::vector<Task>& ts) {
    std::set<std::string> out;
    for (const auto& t : ts) {
      out.insert(t.id);
    }
    return out;
  };
  auto filter = [](std::optional<TaskStatus> status, std::optional<std::string> type,
                   std::optional<std::string> queue, std::size_t limit = 1000, std::size_t offset = 0) {
    TaskFilter f;
    f.status = status;
    f.task_type = std::move(type);
    f.queue = std::move(queue);
    f.limit = limit;
    f.offset = offset;
    return f;
  };
  EXPECT_EQ(ids(store->list(TaskFilter{})), (std::set<std::string>{"l1", "l2", "l3"}));
  EXPECT_EQ(ids(store->list(filter(TaskStatus::running, {}, {}))), (std::set<std::string>{"l1"}));
  EXPECT_EQ(ids(store->list(filter(TaskStatus::pending, {}, {}))), (std::set<std::string>{"l2", "l3"}));
  EXPECT_EQ(ids(store->list(filter({}, "elo", {}))), (std::set<std::string>{"l1", "l2"}));
  EXPECT_EQ(ids(store->list(filter({}, {}, "cpu:parallel"))), (std::set<std::string>{"l2", "l3"}));
  EXPECT_EQ(ids(store->list(filter({}, "elo", "cpu:parallel"))), (std::set<std::string>{"l2"}));
  EXPECT_EQ(store->list(filter({}, {}, {}, 2)).size(), 2u);
  EXPECT_EQ(store->list(filter({}, {}, {}, 10, 2)).size(), 1u);
}

// ---------------------------------------------------------------- waiting for work

TEST_P(StoreConformance, ClaimWaitWakesOnAnAddFromAnotherThread) {
  auto waiter_store = open();
  auto producer = open();
  std::optional<Lease> got;
  Millis returned_at = 0;
  std::thread waiter([&] {
    got = waiter_store->claim_wait(request(), 20s);
    returned_at = monotonic_ms();
  });
  // Not synchronisation: the assertions hold whether or not the waiter is already
  // blocked; the pause only makes it very likely that the wake-up path is exercised.
  std::this_thread::sleep_for(200ms);
  Millis added_at = monotonic_ms();
  add(*producer, make_task("wake_me"));
  waiter.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->task.id, "wake_me");
  Millis pickup = returned_at - added_at;
  std::printf("[ conformance ] %s: claim_wait pickup %lld ms after the add\n", GetParam().c_str(),
              static_cast<long long>(pickup));
  EXPECT_LT(pickup, 1'000);
}

TEST_P(StoreConformance, ClaimWaitTimesOutOnAnEmptyQueue) {
  auto store = open();
  Millis start = monotonic_ms();
  EXPECT_FALSE(store->claim_wait(request(), 150ms));
  Millis waited = monotonic_ms() - start;
  EXPECT_GE(waited, 140);
  EXPECT_LT(waited, 5'000);
}

// ---------------------------------------------------------------- scale

TEST_P(StoreConformance, HundredThousandTasksClaimCostDoesNotGrowWithQueueLength) {
  constexpr int k_total = 100'000;
  constexpr int k_small = 1'000;
  constexpr int k_batch = 5'000;
  constexpr int k_probe = 300;
  auto store = open();
  auto priority_of = [](int i) { return k_priorities[static_cast<std::size_t>(i % 5)]; };
  auto add_range = [&](int from, int to) {
    std::vector<Task> batch;
    for (int i = from; i < to; ++i) {
      batch.push_back(make_task("s" + std::to_string(i), "analysis:standard", priority_of(i), {{"i", i}}));
      if (batch.size() == static_cast<std::size_t>(k_batch) || i + 1 == to) {
        store->add(batch);
        batch.clear();
      }
    }
  };
  // Claims are timed as a median of single calls so one slow call (another process
  // on the shared machine) does not decide the result.
  auto probe = [&] {
    std::vector<double> us;
    int last_priority = -1;
    for (int i = 0; i < k_probe; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto lease = store->claim(request());
      auto t1 = std::chrono::steady_clock::now();
      EXPECT_TRUE(lease);
      if (!lease) {
        break;
      }
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      int p = static_cast<int>(lease->task.priority);
      EXPECT_GE(p, last_priority) << "claims must come out in priority order";
      last_priority = p;
      EXPECT_EQ(store->complete(lease->task.id, lease->token, {{"ok", 1}}, {}), LeaseResult::ok);
    }
    std::sort(us.begin(), us.end());
    return us.empty() ? 0.0 : us[us.size() / 2];
  };

  auto t_add0 = std::chrono::steady_clock::now();
  add_range(0, k_small);
  double small_us = probe();
  add_range(k_small, k_total);
  auto t_add1 = std::chrono::steady_clock::now();
  auto s = store->status();
  EXPECT_EQ(s.counts["pending"], k_total - k_probe);
  EXPECT_EQ(s.queues["analysis:standard"].pending, k_total - k_probe);
  // The two probes run seconds apart, and the machine's load may change in between
  // (ctest -j starts other tests): a large probe over the bound is probed again, up
  // to three in all, and the best median counts. A claim whose cost grows with the
  // queue is over the bound every time (100x the tasks).
  const double bound_us = 5.0 * std::max(small_us, 50.0);
  double large_us = 0.0;
  int large_probes = 0;
  do {
    const double median = probe();
    large_us = large_probes == 0 ? median : std::min(large_us, median);
    ++large_probes;
  } while (large_us >= bound_us && large_probes < 3);
  std::printf("[ conformance ] %s: 100k tasks added in %.2f s; median claim %.1f us at ~1k queued, %.1f us at "
              "~100k queued (ratio %.2f, best of %d probe(s))\n",
              GetParam().c_str(), std::chrono::duration<double>(t_add1 - t_add0).count(), small_us, large_us,
              large_us / std::max(small_us, 1e-3), large_probes);
  EXPECT_LT(large_us, bound_us);

  // The head is right: after 300 + 300 (or more) claims the critical tasks are still first.
  const int probed = (1 + large_probes) * k_probe;
  auto lease = store->claim(request());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->task.priority, Priority::critical);
  s = store->status();
  EXPECT_EQ(s.counts["completed"], probed);
  EXPECT_EQ(s.counts["running"], 1);
  EXPECT_EQ(s.counts["pending"], k_total - probed - 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::Values("sqlite", "redis"), backend_name);

} // namespace
