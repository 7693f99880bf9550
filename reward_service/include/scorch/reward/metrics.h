// ServerMetrics: the reward service's counters and latency histograms, rendered in the
// Prometheus text exposition format (version 0.0.4) for `GET /metrics`.
//
// Series (all prefixed scorch_reward_):
//   http_requests_total{path,code}            counter
//   http_request_duration_seconds{path}       histogram (buckets 0.5 ms … 10 s)
//   zmq_requests_total{status}                counter ("ok" / "error")
//   verdicts_total{verdict}                   counter (correct / wrong / error), per graded attempt
//   errors_total{reason}                      counter: grader `error` reasons and request
//                                             errors (bad_json, body_too_large, …)
//   items_total                               counter: trajectories scored
// Label cardinality is bounded: paths outside `known_paths` are counted as "other", and at
// most kMaxReasons distinct error reasons are kept (the rest count as "other").
//
// Thread-safety: every method may be called from any thread (one mutex; updates are a few
// map operations, far cheaper than the grading they describe).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scorch/reward/reward_oracle.h"

namespace scorch::reward {

class ServerMetrics {
 public:
  static constexpr size_t kMaxReasons = 64;
  static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,    0.25,  0.5,    1.0,   2.5,   5.0,  10.0};

  explicit ServerMetrics(std::set<std::string> known_paths = {"/grade", "/get_reward", "/health",
                                                              "/metrics"});

  void RecordRequest(std::string_view path, int code, double seconds);
  void RecordZmqRequest(bool ok);
  void RecordVerdict(OracleVerdict verdict);
  void RecordError(std::string_view reason);
  void RecordItems(uint64_t n);

  // The exposition text.
  std::string RenderPrometheus() const;

  // For tests and the bench.
  uint64_t RequestCount(std::string_view path, int code) const;
  uint64_t VerdictCount(OracleVerdict verdict) const;
  uint64_t ErrorCount(std::string_view reason) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};  // non-cumulative counts
    uint64_t count = 0;
    double sum = 0.0;
  };
  std::string PathLabel(std::string_view path) const;

  const std::set<std::string> known_paths_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // GUARDED_BY(mu_)
  std::map<std::string, Histogram> latency_;                  // GUARDED_BY(mu_)
  std::array<uint64_t, 3> verdicts_{};                        // GUARDED_BY(mu_)
  std::map<std::string, uint64_t> errors_;                    // GUARDED_BY(mu_)
  uint64_t zmq_ok_ = 0, zmq_error_ = 0, items_ = 0;           // GUARDED_BY(mu_)
};

}  // namespace scorch::reward
