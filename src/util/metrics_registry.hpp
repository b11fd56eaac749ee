#pragma once
// Process-local metrics (counters, gauges, fixed-bucket histograms) and the Prometheus
// text exposition format (0.0.4) they are rendered in. Lives in util so that the
// worker (which counts) and the monitor (which serves) can both use it without
// depending on each other (docs/architecture.md).
//
// Updates are lock-free atomics, cheap enough for the worker's hot path (~10k tasks/s):
// a labelled child is found under a shared lock, created under an exclusive one, and
// never moves, so callers may keep the reference. Families are registered once at
// start-up; rendering reads the atomics without stopping writers.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nfl::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Escapes a label value (backslash, double quote, newline) as the format requires.
std::string escape_label(std::string_view value);
// A sample value: integers exactly, NaN and infinities as "NaN", "+Inf", "-Inf",
// other numbers in the shortest form that reads back to the same double.
std::string format_value(double value);

// Builds one exposition: `family` opens a metric family (HELP and TYPE lines), `sample`
// adds one line to it. Names and label names are the caller's constants, not escaped.
class TextWriter {
public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, std::uint64_t value);
  const std::string& text() const { return m_out; }
  std::string take() { return std::move(m_out); }

private:
  void series(std::string_view name, const Labels& labels);
  std::string m_out;
};

class Counter {
public:
  void inc(std::uint64_t n = 1) { m_value.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return m_value.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> m_value{0};
};

class Gauge {
public:
  void set(double v) { m_value.store(v, std::memory_order_relaxed); }
  void add(double v) { m_value.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return m_value.load(std::memory_order_relaxed); }

private:
  std::atomic<double> m_value{0.0};
};

// Fixed upper bounds (seconds, say), strictly increasing; +Inf is implied. Each bucket
// is counted on its own and made cumulative when read, so a snapshot's buckets never
// decrease and its count is the +Inf bucket by construction.
class Histogram {
public:
  explicit Histogram(std::span<const double> bounds);
  void observe(double value); // NaN is ignored

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative; // bounds.size() + 1 entries; the last is +Inf
    std::uint64_t count = 0;
    double sum = 0.0;
  };
  Snapshot snapshot() const;
  std::span<const double> bounds() const { return m_bounds; }

private:
  std::vector<double> m_bounds;
  std::unique_ptr<std::atomic<std::uint64_t>[]> m_buckets;
  std::atomic<double> m_sum{0.0};
};

// Observes the time from construction to destruction into a histogram (seconds).
class ScopedTimer {
public:
  explicit ScopedTimer(Histogram& h) : m_histogram(&h), m_start(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() {
    m_histogram->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count());
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

private:
  Histogram* m_histogram;
  std::chrono::steady_clock::time_point m_start;
};

enum class Kind { counter, gauge, histogram };

class FamilyBase {
public:
  FamilyBase(std::string name, std::string help, Kind kind, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return m_name; }
  Kind kind() const { return m_kind; }
  const std::vector<std::string>& label_names() const { return m_label_names; }
  virtual void render(TextWriter& w) const = 0;

protected:
  std::string m_name;
  std::string m_help;
  Kind m_kind;
  std::vector<std::string> m_label_names;
};

// One metric name with a fixed set of label names; one child per label-value tuple.
template <class Metric>
class Family final : public FamilyBase {
public:
  Family(std::string name, std::string help, Kind kind, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), kind, std::move(label_names)), m_bounds(std::move(bounds)) {}

  // The child for these label values (in label_names order), created on first use.
  // Throws InternalError when the number of values does not match.
  // Finding an existing child allocates nothing.
  Metric& labels(std::initializer_list<std::string_view> values) {
    return labels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& labels(std::span<const std::string_view> values);
  // The child of a family without labels.
  Metric& get() { return labels(std::span<const std::string_view>()); }

  void render(TextWriter& w) const override;
  const std::vector<double>& bounds() const { return m_bounds; }

private:
  std::vector<double> m_bounds; // histograms only
  // Orders label-value tuples, and lets a tuple of string_views find a stored one.
  struct TupleLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };
  mutable std::shared_mutex m_mutex;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, TupleLess> m_children;
};

// Families in registration order. Registering a name again returns the existing family
// when kind, label names (and buckets) agree, so two parts of a process may share one;
// a disagreement, a malformed name, or a counter not named *_total throws InternalError.
class Registry {
public:
  Family<Counter>& counter_family(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Gauge>& gauge_family(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Histogram>& histogram_family(std::string name, std::string help, std::vector<std::string> label_names,
                                      std::span<const double> bounds);
  Counter& counter(std::string name, std::string help) { return counter_family(std::move(name), std::move(help), {}).get(); }
  Gauge& gauge(std::string name, std::string help) { return gauge_family(std::move(name), std::move(help), {}).get(); }
  Histogram& histogram(std::string name, std::string help, std::span<const double> bounds) {
    return histogram_family(std::move(name), std::move(help), {}, bounds).get();
  }

  void render(TextWriter& w) const;
  std::string render() const;

private:
  template <class Metric>
  Family<Metric>& add(std::string name, std::string help, Kind kind, std::vector<std::string> label_names,
                      std::span<const double> bounds);
  mutable std::mutex m_mutex;
  std::vector<std::unique_ptr<FamilyBase>> m_families;
};

// Bucket bounds shared by the worker and the monitor.
// Store calls: 100 µs to 10 s (a local SQLite commit to a stalled Redis).
inline constexpr double k_store_call_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                 0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10};
// Task wall time: 1 ms (noop) to 6 h (the default timeout).
inline constexpr double k_task_duration_buckets[] = {0.001, 0.01, 0.1, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600};

} // namespace nfl::metrics
