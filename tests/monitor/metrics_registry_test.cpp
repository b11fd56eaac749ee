#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "prometheus_check.hpp"
#include "util/error.hpp"
#include "util/metrics_registry.hpp"

namespace nfl::metrics {
namespace {

TEST(MetricsRegistry, RendersEachKindInRegistrationOrder) {
  Registry r;
  auto& claims = r.counter("demo_claims_total", "Claims.");
  auto& busy = r.gauge("demo_busy_slots", "Busy slots.");
  const double bounds[] = {0.5, 2};
  auto& latency = r.histogram_family("demo_call_seconds", "Calls.", {"op"}, bounds);
  claims.inc();
  claims.inc(2);
  busy.set(3);
  busy.add(-1);
  latency.labels({"get"}).observe(0.5); // on a bound: counts in that bucket ("le")
  latency.labels({"get"}).observe(1.0);
  latency.labels({"get"}).observe(7.0);
  latency.labels({"put"}).observe(0.25);
  EXPECT_EQ(r.render(), "# HELP demo_claims_total Claims.\n"
                        "# TYPE demo_claims_total counter\n"
                        "demo_claims_total 3\n"
                        "# HELP demo_busy_slots Busy slots.\n"
                        "# TYPE demo_busy_slots gauge\n"
                        "demo_busy_slots 2\n"
                        "# HELP demo_call_seconds Calls.\n"
                        "# TYPE demo_call_seconds histogram\n"
                        "demo_call_seconds_bucket{op=\"get\",le=\"0.5\"} 1\n"
                        "demo_call_seconds_bucket{op=\"get\",le=\"2\"} 2\n"
                        "demo_call_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"
                        "demo_call_seconds_sum{op=\"get\"} 8.5\n"
                        "demo_call_seconds_count{op=\"get\"} 3\n"
                        "demo_call_seconds_bucket{op=\"put\",le=\"0.5\"} 1\n"
                        "demo_call_seconds_bucket{op=\"put\",le=\"2\"} 1\n"
                        "demo_call_seconds_bucket{op=\"put\",le=\"+Inf\"} 1\n"
                        "demo_call_seconds_sum{op=\"put\"} 0.25\n"
                        "demo_call_seconds_count{op=\"put\"} 1\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  Registry r;
  r.counter_family("demo_errors_total", "Errors with \\ and\nnewline.", {"what"}).labels({"a\"b\\c\nd"}).inc();
  EXPECT_EQ(r.render(), "# HELP demo_errors_total Errors with \\\\ and\\nnewline.\n"
                        "# TYPE demo_errors_total counter\n"
                        "demo_errors_total{what=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsRegistry, SpecialValuesUseTheFormatsSpelling) {
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(1e-5), "1e-05");
  EXPECT_EQ(format_value(42), "42");
}

TEST(MetricsRegistry, HistogramSnapshotIsCumulativeAndCountsEveryObservation) {
  const double bounds[] = {1, 10, 100};
  Histogram h(bounds);
  const std::vector<double> values = {0, 1, 1.5, 10, 11, 99, 100, 1000, -3};
  double sum = 0;
  for (double v : values) {
    h.observe(v);
    sum += v;
  }
  h.observe(std::numeric_limits<double>::quiet_NaN()); // ignored
  auto s = h.snapshot();
  ASSERT_EQ(s.cumulative.size(), 4u);
  // <=1: 0, 1, -3; <=10: +1.5, 10; <=100: +11, 99, 100; +Inf: +1000.
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{3, 5, 8, 9}));
  EXPECT_EQ(s.count, values.size());
  EXPECT_DOUBLE_EQ(s.sum, sum);
}

TEST(MetricsRegistry, RegistrationRules) {
  Registry r;
  auto& a = r.counter_family("demo_things_total", "Things.", {"kind"});
  EXPECT_EQ(&a, &r.counter_family("demo_things_total", "Things.", {"kind"})) << "same definition: shared";
  EXPECT_THROW(r.counter_family("demo_things_total", "Things.", {"other"}), InternalError);
  EXPECT_THROW(r.gauge("demo_things_total", "Things."), InternalError);
  EXPECT_THROW(r.counter("demo_things", "A counter without _total."), InternalError);
  EXPECT_THROW(r.gauge("9demo", "Bad name."), InternalError);
  EXPECT_THROW(r.gauge_family("demo_gauge", "Bad label.", {"bad-label"}), InternalError);
  const double bounds[] = {1};
  EXPECT_THROW(r.histogram_family("demo_seconds", "le is reserved.", {"le"}, bounds), InternalError);
  const double unsorted[] = {2, 1};
  EXPECT_THROW(r.histogram("demo_unsorted_seconds", "Unsorted.", unsorted), InternalError);
  EXPECT_THROW(a.labels({"x", "y"}), InternalError) << "two values for one label name";
}

TEST(MetricsRegistry, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& family = r.counter_family("demo_hits_total", "Hits.", {"type"});
  const double bounds[] = {0.5};
  auto& h = r.histogram("demo_work_seconds", "Work.", bounds);
  constexpr int k_threads = 4;
  constexpr int k_each = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < k_each; ++i) {
        family.labels({i % 2 == 0 ? "even" : "odd"}).inc();
        h.observe(t % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(family.labels({"even"}).value() + family.labels({"odd"}).value(),
            static_cast<std::uint64_t>(k_threads * k_each));
  auto s = h.snapshot();
  EXPECT_EQ(s.count, static_cast<std::uint64_t>(k_threads * k_each));
  EXPECT_EQ(s.cumulative[0], static_cast<std::uint64_t>(k_threads / 2 * k_each));
  EXPECT_DOUBLE_EQ(s.sum, k_threads / 2 * k_each * 0.25 + k_threads / 2 * k_each * 1.0);
}

TEST(MetricsRegistry, RenderingPassesPromtoolAndThePythonParser) {
  Registry r;
  r.counter("demo_claims_total", "Claims.").inc(5);
  r.gauge("demo_busy_slots", "Busy slots.").set(2);
  r.counter_family("demo_failures_total", "Failures.", {"task_type", "kind"}).labels({"noop", "terminal"}).inc();
  r.histogram_family("demo_call_duration_seconds", "Calls.", {"op"}, k_store_call_buckets).labels({"get"}).observe(0.003);
  r.gauge_family("demo_empty", "A family with no child yet.", {"x"});
  const auto text = r.render();
  test::TempDir dir;
  auto promtool = test::promtool_check(text, dir.path());
  EXPECT_EQ(promtool.rc, 0) << promtool.output << "\n" << text;
  auto parsed = test::python_parse(text, dir.path());
  ASSERT_EQ(parsed.rc, 0) << parsed.output;
  EXPECT_NE(parsed.output.find("demo_call_duration_seconds histogram 19"), std::string::npos) << parsed.output;
  EXPECT_NE(parsed.output.find("demo_claims counter 1"), std::string::npos) << parsed.output;
}

} // namespace
} // namespace nfl::metrics
