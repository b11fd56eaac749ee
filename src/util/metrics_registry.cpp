#include "util/metrics_registry.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "util/error.hpp"

namespace nfl::metrics {

namespace {

bool valid_name(std::string_view name, bool colons) {
  if (name.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
      return false;
    }
  }
  return true;
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
  case Kind::counter: return "counter";
  case Kind::gauge: return "gauge";
  case Kind::histogram: return "histogram";
  }
  return "untyped";
}

// HELP text escapes only backslash and newline.
std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Labels zip(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  Labels out;
  out.reserve(names.size() + 1);
  for (std::size_t i = 0; i < names.size(); ++i) {
    out.emplace_back(names[i], values[i]);
  }
  return out;
}

} // namespace

std::string escape_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  // fmt's "{}" is the shortest round-trip form (1, 0.25, 1e-05), which Go's ParseFloat
  // (Prometheus) and Python's float() both read.
  return fmt::format("{}", value);
}

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  m_out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
}

void TextWriter::series(std::string_view name, const Labels& labels) {
  m_out += name;
  if (!labels.empty()) {
    m_out += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) {
        m_out += ',';
      }
      m_out += labels[i].first;
      m_out += "=\"";
      m_out += escape_label(labels[i].second);
      m_out += '"';
    }
    m_out += '}';
  }
}

void TextWriter::sample(std::string_view name, const Labels& labels, double value) {
  series(name, labels);
  m_out += ' ';
  m_out += format_value(value);
  m_out += '\n';
}

void TextWriter::sample(std::string_view name, const Labels& labels, std::uint64_t value) {
  series(name, labels);
  m_out += fmt::format(" {}\n", value);
}

Histogram::Histogram(std::span<const double> bounds)
    : m_bounds(bounds.begin(), bounds.end()), m_buckets(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i + 1 < m_bounds.size(); ++i) {
    if (!(m_bounds[i] < m_bounds[i + 1])) {
      throw InternalError("histogram bounds must be strictly increasing");
    }
  }
  for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
    m_buckets[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::observe(double value) {
  if (std::isnan(value)) {
    return;
  }
  // First bound >= value: "le" buckets include their upper bound.
  const auto i = static_cast<std::size_t>(std::lower_bound(m_bounds.begin(), m_bounds.end(), value) - m_bounds.begin());
  m_buckets[i].fetch_add(1, std::memory_order_relaxed);
  m_sum.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = m_bounds;
  s.cumulative.resize(m_bounds.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
    running += m_buckets[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = m_sum.load(std::memory_order_relaxed);
  return s;
}

FamilyBase::FamilyBase(std::string name, std::string help, Kind kind, std::vector<std::string> label_names)
    : m_name(std::move(name)), m_help(std::move(help)), m_kind(kind), m_label_names(std::move(label_names)) {}

template <class Metric>
Metric& Family<Metric>::labels(std::span<const std::string_view> values) {
  {
    std::shared_lock lock(m_mutex);
    auto it = m_children.find(values);
    if (it != m_children.end()) {
      return *it->second;
    }
  }
  if (values.size() != m_label_names.size()) {
    throw InternalError(fmt::format("metric {}: {} label values for {} label names", m_name, values.size(),
                                    m_label_names.size()));
  }
  std::unique_lock lock(m_mutex);
  auto& child = m_children[std::vector<std::string>(values.begin(), values.end())];
  if (!child) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      child = std::make_unique<Histogram>(m_bounds);
    } else {
      child = std::make_unique<Metric>();
    }
  }
  return *child;
}

template <class Metric>
void Family<Metric>::render(TextWriter& w) const {
  w.family(m_name, kind_name(m_kind), m_help);
  std::shared_lock lock(m_mutex);
  for (const auto& [values, child] : m_children) {
    auto labels = zip(m_label_names, values);
    if constexpr (std::is_same_v<Metric, Histogram>) {
      const auto s = child->snapshot();
      const auto bucket = m_name + "_bucket";
      for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
        auto with_le = labels;
        with_le.emplace_back("le", i < s.bounds.size() ? format_value(s.bounds[i]) : "+Inf");
        w.sample(bucket, with_le, s.cumulative[i]);
      }
      w.sample(m_name + "_sum", labels, s.sum);
      w.sample(m_name + "_count", labels, s.count);
    } else {
      w.sample(m_name, labels, child->value());
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <class Metric>
Family<Metric>& Registry::add(std::string name, std::string help, Kind kind, std::vector<std::string> label_names,
                              std::span<const double> bounds) {
  if (!valid_name(name, true)) {
    throw InternalError(fmt::format("metric name '{}' is not [a-zA-Z_:][a-zA-Z0-9_:]*", name));
  }
  if (kind == Kind::counter && !name.ends_with("_total")) {
    throw InternalError(fmt::format("counter '{}' must be named *_total", name));
  }
  for (const auto& l : label_names) {
    if (!valid_name(l, false) || l.starts_with("__") || (kind == Kind::histogram && l == "le")) {
      throw InternalError(fmt::format("metric {}: label name '{}' is not allowed", name, l));
    }
  }
  std::vector<double> b(bounds.begin(), bounds.end());
  std::lock_guard lock(m_mutex);
  for (auto& f : m_families) {
    if (f->name() != name) {
      continue;
    }
    auto* same = dynamic_cast<Family<Metric>*>(f.get());
    if (!same || f->kind() != kind || f->label_names() != label_names || same->bounds() != b) {
      throw InternalError(fmt::format("metric {} registered twice with different type, labels or buckets", name));
    }
    return *same;
  }
  auto family = std::make_unique<Family<Metric>>(std::move(name), std::move(help), kind, std::move(label_names),
                                                 std::move(b));
  auto& ref = *family;
  m_families.push_back(std::move(family));
  return ref;
}

Family<Counter>& Registry::counter_family(std::string name, std::string help, std::vector<std::string> label_names) {
  return add<Counter>(std::move(name), std::move(help), Kind::counter, std::move(label_names), {});
}

Family<Gauge>& Registry::gauge_family(std::string name, std::string help, std::vector<std::string> label_names) {
  return add<Gauge>(std::move(name), std::move(help), Kind::gauge, std::move(label_names), {});
}

Family<Histogram>& Registry::histogram_family(std::string name, std::string help,
                                              std::vector<std::string> label_names, std::span<const double> bounds) {
  return add<Histogram>(std::move(name), std::move(help), Kind::histogram, std::move(label_names), bounds);
}

void Registry::render(TextWriter& w) const {
  std::lock_guard lock(m_mutex);
  for (const auto& f : m_families) {
    f->render(w);
  }
}

std::string Registry::render() const {
  TextWriter w;
  render(w);
  return w.take();
}

} // namespace nfl::metrics
