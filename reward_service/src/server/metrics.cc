// Prometheus text rendering of the reward service's metrics. See metrics.h.
#include "scorch/reward/metrics.h"

#include <cstdio>

namespace scorch::reward {
namespace {

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
std::string EscapeLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.10g", v);
  return buf;
}

size_t VerdictIndex(OracleVerdict v) {
  switch (v) {
    case OracleVerdict::kCorrect: return 0;
    case OracleVerdict::kWrong: return 1;
    case OracleVerdict::kError: return 2;
  }
  return 2;
}

}  // namespace

ServerMetrics::ServerMetrics(std::set<std::string> known_paths) : known_paths_(std::move(known_paths)) {}

std::string ServerMetrics::PathLabel(std::string_view path) const {
  auto it = known_paths_.find(std::string(path));
  return it == known_paths_.end() ? "other" : *it;
}

void ServerMetrics::RecordRequest(std::string_view path, int code, double seconds) {
  std::string label = PathLabel(path);
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{label, code}];
  Histogram& h = latency_[label];
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  if (b < kBuckets.size()) ++h.buckets[b];
  ++h.count;
  h.sum += seconds;
}

void ServerMetrics::RecordZmqRequest(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(ok ? zmq_ok_ : zmq_error_);
}

void ServerMetrics::RecordVerdict(OracleVerdict verdict) {
  std::lock_guard<std::mutex> lock(mu_);
  ++verdicts_[VerdictIndex(verdict)];
}

void ServerMetrics::RecordError(std::string_view reason) {
  std::string key(reason.empty() ? "unknown" : reason);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = errors_.find(key);
  if (it == errors_.end() && errors_.size() >= kMaxReasons) key = "other";
  ++errors_[key];
}

void ServerMetrics::RecordItems(uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  items_ += n;
}

uint64_t ServerMetrics::RequestCount(std::string_view path, int code) const {
  std::string label = PathLabel(path);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = requests_.find({label, code});
  return it == requests_.end() ? 0 : it->second;
}

uint64_t ServerMetrics::VerdictCount(OracleVerdict verdict) const {
  std::lock_guard<std::mutex> lock(mu_);
  return verdicts_[VerdictIndex(verdict)];
}

uint64_t ServerMetrics::ErrorCount(std::string_view reason) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = errors_.find(std::string(reason));
  return it == errors_.end() ? 0 : it->second;
}

std::string ServerMetrics::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string o;
  o += "# HELP scorch_reward_http_requests_total HTTP requests by path and status code.\n";
  o += "# TYPE scorch_reward_http_requests_total counter\n";
  for (const auto& [k, v] : requests_) {
    o += "scorch_reward_http_requests_total{path=\"" + EscapeLabel(k.first) + "\",code=\"" +
         std::to_string(k.second) + "\"} " + std::to_string(v) + "\n";
  }
  o += "# HELP scorch_reward_http_request_duration_seconds HTTP request latency.\n";
  o += "# TYPE scorch_reward_http_request_duration_seconds histogram\n";
  for (const auto& [path, h] : latency_) {
    std::string p = EscapeLabel(path);
    uint64_t cum = 0;
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      cum += h.buckets[b];
      o += "scorch_reward_http_request_duration_seconds_bucket{path=\"" + p + "\",le=\"" +
           Num(kBuckets[b]) + "\"} " + std::to_string(cum) + "\n";
    }
    o += "scorch_reward_http_request_duration_seconds_bucket{path=\"" + p + "\",le=\"+Inf\"} " +
         std::to_string(h.count) + "\n";
    o += "scorch_reward_http_request_duration_seconds_sum{path=\"" + p + "\"} " + Num(h.sum) + "\n";
    o += "scorch_reward_http_request_duration_seconds_count{path=\"" + p + "\"} " +
         std::to_string(h.count) + "\n";
  }
  o += "# HELP scorch_reward_zmq_requests_total ZeroMQ grade requests by outcome.\n";
  o += "# TYPE scorch_reward_zmq_requests_total counter\n";
  o += "scorch_reward_zmq_requests_total{status=\"ok\"} " + std::to_string(zmq_ok_) + "\n";
  o += "scorch_reward_zmq_requests_total{status=\"error\"} " + std::to_string(zmq_error_) + "\n";
  o += "# HELP scorch_reward_verdicts_total Oracle verdicts per graded attempt.\n";
  o += "# TYPE scorch_reward_verdicts_total counter\n";
  const char* names[3] = {"correct", "wrong", "error"};
  for (size_t i = 0; i < 3; ++i) {
    o += std::string("scorch_reward_verdicts_total{verdict=\"") + names[i] + "\"} " +
         std::to_string(verdicts_[i]) + "\n";
  }
  o += "# HELP scorch_reward_errors_total Grader error verdicts and rejected requests, by reason.\n";
  o += "# TYPE scorch_reward_errors_total counter\n";
  for (const auto& [reason, v] : errors_) {
    o += "scorch_reward_errors_total{reason=\"" + EscapeLabel(reason) + "\"} " + std::to_string(v) + "\n";
  }
  o += "# HELP scorch_reward_items_total Trajectories scored.\n";
  o += "# TYPE scorch_reward_items_total counter\n";
  o += "scorch_reward_items_total " + std::to_string(items_) + "\n";
  return o;
}

}  // namespace scorch::reward
