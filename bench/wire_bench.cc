// Wire benchmark: codec throughput for a 4096-token trajectory and DEALER→ROUTER→DEALER
// round trips over inproc and tcp loopback.
//
//   wire_bench --out bench/results/wire.json [--quick]
//
// Every figure comes with a baseline measured in the same run:
//   codec      vs. memcpy of the same encoded bytes, and vs. the naive encodings of the same
//              trajectory with its token ids / log-probs / mask as msgpack number arrays and
//              as JSON text;
//   transport  vs. raw cppzmq ROUTER/DEALER echoing the same pre-encoded bytes (no encode,
//              no decode, no validation), so the layer's own overhead is visible.
// Times are medians over several batches (robust on a shared machine). MB = 1e6 bytes.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <zmq_addon.hpp>

#include "../common/tests/wire_samples.h"
#include "scorch/common/proto/message.h"
#include "scorch/common/transport/dealer.h"
#include "scorch/common/transport/router.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace proto = scorch::proto;
namespace transport = scorch::transport;

volatile size_t g_sink = 0;  // keeps measured work observable

template <typename T>
T OrThrow(scorch::StatusOr<T> v) {
  if (!v.ok()) throw std::runtime_error(v.status().ToString());
  return std::move(v).value();
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Median seconds per call of fn over `batches` batches of ~batch_seconds each.
double TimePerOp(const std::function<void()>& fn, double batch_seconds, int batches = 5) {
  // Calibrate the batch size.
  size_t n = 1;
  while (true) {
    const auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i) fn();
    const double s = Seconds(Clock::now() - t0);
    if (s >= batch_seconds / 4 || n >= (size_t{1} << 24)) break;
    n *= 2;
  }
  n = std::max<size_t>(1, n * 4);
  std::vector<double> per_op;
  for (int b = 0; b < batches; ++b) {
    const auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i) fn();
    per_op.push_back(Seconds(Clock::now() - t0) / static_cast<double>(n));
  }
  std::sort(per_op.begin(), per_op.end());
  return per_op[per_op.size() / 2];
}

json Throughput(double seconds_per_op, size_t bytes) {
  return {{"us_per_msg", seconds_per_op * 1e6},
          {"mb_per_s", static_cast<double>(bytes) / seconds_per_op / 1e6},
          {"msgs_per_s", 1.0 / seconds_per_op}};
}

// The same trajectory with numeric arrays as msgpack/JSON number arrays (the naive encoding).
json NaiveTrajectory(const proto::Trajectory& t) {
  json j = json::object();
  j["step"] = t.step;
  j["prompt_id"] = t.prompt_id;
  j["sample_idx"] = t.sample_idx;
  j["lease_id"] = t.lease_id;
  j["policy_version"] = t.policy_version;
  j["token_ids"] = t.token_ids;
  j["logprobs"] = t.logprobs;
  j["trainable_mask"] = t.trainable_mask;
  json segs = json::array();
  for (const auto& s : t.segments) {
    segs.push_back({{"role", proto::ChatRoleName(s.role)},
                    {"turn", s.turn},
                    {"kind", proto::SegmentKindName(s.kind)},
                    {"begin", s.begin},
                    {"end", s.end},
                    {"text", s.text}});
  }
  j["segments"] = segs;
  j["turn_answers"] = t.turn_answers;
  return j;
}

void NaiveRead(const json& j, proto::Trajectory* t) {
  t->token_ids = j["token_ids"].get<std::vector<int32_t>>();
  t->logprobs = j["logprobs"].get<std::vector<float>>();
  t->trainable_mask = j["trainable_mask"].get<std::vector<uint8_t>>();
}

json CodecBench(bool quick) {
  const double batch = quick ? 0.02 : 0.1;
  const proto::Trajectory traj = proto::testing::SampleTrajectory(4096);
  const proto::Message message = traj;  // encode from the variant, as senders do (no copy)
  const std::string encoded = OrThrow(proto::EncodeMessage(message));
  const size_t bytes = encoded.size();

  json out;
  out["trajectory_tokens"] = traj.token_ids.size();
  out["encoded_bytes"] = bytes;
  out["encode"] = Throughput(
      TimePerOp([&] { g_sink = g_sink + proto::EncodeMessage(message)->size(); }, batch), bytes);
  out["decode"] = Throughput(TimePerOp(
                                 [&] {
                                   auto m = proto::DecodeMessage(encoded);
                                   g_sink = g_sink + m->index();
                                 },
                                 batch),
                             bytes);

  std::string copy(bytes, '\0');
  out["baseline_memcpy"] = Throughput(TimePerOp(
                                          [&] {
                                            std::memcpy(copy.data(), encoded.data(), bytes);
                                            g_sink = g_sink + static_cast<uint8_t>(copy[bytes / 2]);
                                          },
                                          batch),
                                      bytes);

  std::string naive_mp;
  json::to_msgpack(NaiveTrajectory(traj), naive_mp);
  json naive_mp_out = {{"encoded_bytes", naive_mp.size()}};
  naive_mp_out["encode"] = Throughput(TimePerOp(
                                          [&] {
                                            std::string s;
                                            json::to_msgpack(NaiveTrajectory(traj), s);
                                            g_sink = g_sink + s.size();
                                          },
                                          batch),
                                      naive_mp.size());
  naive_mp_out["decode"] = Throughput(TimePerOp(
                                          [&] {
                                            proto::Trajectory t;
                                            NaiveRead(json::from_msgpack(naive_mp), &t);
                                            g_sink = g_sink + t.token_ids.size();
                                          },
                                          batch),
                                      naive_mp.size());
  out["baseline_msgpack_number_arrays"] = naive_mp_out;

  const std::string naive_text = NaiveTrajectory(traj).dump();
  json naive_text_out = {{"encoded_bytes", naive_text.size()}};
  naive_text_out["encode"] =
      Throughput(TimePerOp([&] { g_sink = g_sink + NaiveTrajectory(traj).dump().size(); }, batch),
                 naive_text.size());
  naive_text_out["decode"] = Throughput(TimePerOp(
                                            [&] {
                                              proto::Trajectory t;
                                              NaiveRead(json::parse(naive_text), &t);
                                              g_sink = g_sink + t.token_ids.size();
                                            },
                                            batch),
                                        naive_text.size());
  out["baseline_json_text"] = naive_text_out;
  return out;
}

json Percentiles(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[static_cast<size_t>(q * static_cast<double>(us.size() - 1))];
  };
  double sum = 0;
  for (double v : us) sum += v;
  return {{"n", us.size()},
          {"p50_us", at(0.5)},
          {"p99_us", at(0.99)},
          {"max_us", us.back()},
          {"mean_us", sum / static_cast<double>(us.size())}};
}

// A Router echo server on its own thread: sends every message back to its sender.
class EchoServer {
 public:
  EchoServer(std::unique_ptr<transport::Router> router) : router_(std::move(router)) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        auto in = router_->Receive(20ms);
        if (!in.ok()) break;
        if (in->has_value()) (void)router_->Send((*in)->peer, (*in)->message);
      }
      router_->Close();
    });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::unique_ptr<transport::Router> router_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The baseline: raw cppzmq ROUTER echoing frames untouched.
class RawEchoServer {
 public:
  RawEchoServer(zmq::context_t& ctx, const std::string& endpoint)
      : socket_(ctx, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint);
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      while (!stop_.load()) {
        if (zmq::poll(&item, 1, 20ms) == 0) continue;
        std::vector<zmq::message_t> frames;
        if (zmq::recv_multipart(socket_, std::back_inserter(frames))) {
          zmq::send_multipart(socket_, frames);
        }
      }
      socket_.close();
    });
  }
  ~RawEchoServer() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Round-trip latency and pipelined message rate through Router/Dealer with real messages.
json LayerRoundTrips(zmq::context_t& ctx, const std::string& bind, const proto::Message& msg, int n,
                     int rate_n) {
  auto router = OrThrow(transport::Router::Bind(bind, {}, &ctx));
  const std::string endpoint = router->endpoint();
  EchoServer server(std::move(router));
  auto dealer = OrThrow(transport::Dealer::Connect(endpoint, {}, &ctx));
  std::vector<double> rtt;
  for (int i = 0; i < n + n / 10; ++i) {
    const auto t0 = Clock::now();
    if (!dealer->Send(msg).ok()) break;
    auto reply = dealer->Receive(5s);
    if (!reply.ok() || !reply->has_value()) {
      std::fprintf(stderr, "wire_bench: lost a reply over %s\n", endpoint.c_str());
      break;
    }
    if (i >= n / 10) rtt.push_back(Seconds(Clock::now() - t0) * 1e6);  // first 10%: warm-up
  }
  json out = Percentiles(rtt);
  // Pipelined: keep `window` messages in flight.
  const int window = 64;
  int sent = 0;
  int received = 0;
  const auto t0 = Clock::now();
  for (; sent < window && sent < rate_n; ++sent) (void)dealer->Send(msg);
  while (received < rate_n) {
    auto reply = dealer->Receive(5s);
    if (!reply.ok() || !reply->has_value()) break;
    ++received;
    if (sent < rate_n) {
      (void)dealer->Send(msg);
      ++sent;
    }
  }
  out["pipelined_round_trips_per_s"] = received / Seconds(Clock::now() - t0);
  out["window"] = window;
  dealer->Close();
  return out;
}

json RawRoundTrips(zmq::context_t& ctx, const std::string& bind, const std::string& bytes, int n,
                   int rate_n) {
  RawEchoServer server(ctx, bind);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 5000);
  dealer.connect(server.endpoint());
  std::vector<double> rtt;
  zmq::message_t reply;
  for (int i = 0; i < n + n / 10; ++i) {
    const auto t0 = Clock::now();
    dealer.send(zmq::buffer(bytes), zmq::send_flags::none);
    if (!dealer.recv(reply)) break;
    if (i >= n / 10) rtt.push_back(Seconds(Clock::now() - t0) * 1e6);
  }
  json out = Percentiles(rtt);
  const int window = 64;
  int sent = 0;
  int received = 0;
  const auto t0 = Clock::now();
  for (; sent < window && sent < rate_n; ++sent)
    dealer.send(zmq::buffer(bytes), zmq::send_flags::none);
  while (received < rate_n && dealer.recv(reply)) {
    ++received;
    if (sent < rate_n) {
      dealer.send(zmq::buffer(bytes), zmq::send_flags::none);
      ++sent;
    }
  }
  out["pipelined_round_trips_per_s"] = received / Seconds(Clock::now() - t0);
  out["window"] = window;
  dealer.close();
  return out;
}

// A fresh endpoint per phase: a closed socket releases its inproc name asynchronously.
std::string Fresh(const std::string& bind) {
  static int counter = 0;
  if (bind.rfind("inproc://", 0) != 0) return bind;
  return bind + "-" + std::to_string(counter++);
}

json TransportBench(const std::string& name, const std::string& bind, bool quick) {
  zmq::context_t ctx(1);
  const int n = quick ? 500 : 5000;
  const int rate_n = quick ? 2000 : 20000;
  const proto::Message small = proto::testing::SampleHeartbeat();
  const proto::Message big = proto::testing::SampleTrajectory(4096);
  json out;
  out["heartbeat"] = LayerRoundTrips(ctx, Fresh(bind), small, n, rate_n);
  out["heartbeat"]["bytes"] = proto::EncodeMessage(small)->size();
  out["trajectory_4k"] = LayerRoundTrips(ctx, Fresh(bind), big, n / 5, rate_n / 10);
  out["trajectory_4k"]["bytes"] = proto::EncodeMessage(big)->size();
  out["baseline_raw_zmq_heartbeat_bytes"] =
      RawRoundTrips(ctx, Fresh(bind), *proto::EncodeMessage(small), n, rate_n);
  out["baseline_raw_zmq_trajectory_4k_bytes"] =
      RawRoundTrips(ctx, Fresh(bind), *proto::EncodeMessage(big), n / 5, rate_n / 10);
  std::printf(
      "  %-7s heartbeat RTT p50 %7.1f us  p99 %7.1f us  rate %9.0f rt/s   (raw zmq: p50 %6.1f us, "
      "%9.0f rt/s)\n",
      name.c_str(), out["heartbeat"]["p50_us"].get<double>(),
      out["heartbeat"]["p99_us"].get<double>(),
      out["heartbeat"]["pipelined_round_trips_per_s"].get<double>(),
      out["baseline_raw_zmq_heartbeat_bytes"]["p50_us"].get<double>(),
      out["baseline_raw_zmq_heartbeat_bytes"]["pipelined_round_trips_per_s"].get<double>());
  std::printf(
      "  %-7s traj-4k   RTT p50 %7.1f us  p99 %7.1f us  rate %9.0f rt/s   (raw zmq: p50 %6.1f us, "
      "%9.0f rt/s)\n",
      name.c_str(), out["trajectory_4k"]["p50_us"].get<double>(),
      out["trajectory_4k"]["p99_us"].get<double>(),
      out["trajectory_4k"]["pipelined_round_trips_per_s"].get<double>(),
      out["baseline_raw_zmq_trajectory_4k_bytes"]["p50_us"].get<double>(),
      out["baseline_raw_zmq_trajectory_4k_bytes"]["pipelined_round_trips_per_s"].get<double>());
  return out;
}

json MachineInfo() {
  json m;
  m["hardware_threads"] = std::thread::hardware_concurrency();
  std::ifstream load("/proc/loadavg");
  std::string l1;
  if (load >> l1) m["load_average_1min"] = l1;
  utsname u{};
  if (uname(&u) == 0) m["kernel"] = std::string(u.release);
  return m;
}

}  // namespace

int Run(int argc, char** argv);

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {  // a socket that cannot bind, a failed write
    std::fprintf(stderr, "wire_bench: %s\n", e.what());
    return 1;
  }
}

int Run(int argc, char** argv) {
  std::string out_path = "bench/results/wire.json";
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (arg == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: wire_bench [--out FILE.json] [--quick]\n");
      return 2;
    }
  }

  json result;
  result["bench"] = "wire";
  result["units"] = "MB = 1e6 bytes; us = microseconds; rt/s = round trips per second";
  result["machine"] = MachineInfo();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("wire_bench: codec (4096-token trajectory)\n");
  json codec = CodecBench(quick);
  std::printf(
      "  encoded %zu bytes: encode %.0f MB/s (%.1f us), decode %.0f MB/s (%.1f us); memcpy %.0f "
      "MB/s\n",
      codec["encoded_bytes"].get<size_t>(), codec["encode"]["mb_per_s"].get<double>(),
      codec["encode"]["us_per_msg"].get<double>(), codec["decode"]["mb_per_s"].get<double>(),
      codec["decode"]["us_per_msg"].get<double>(),
      codec["baseline_memcpy"]["mb_per_s"].get<double>());
  for (const char* b : {"baseline_msgpack_number_arrays", "baseline_json_text"}) {
    std::printf("  %s: %zu bytes, encode %.1f us, decode %.1f us\n", b,
                codec[b]["encoded_bytes"].get<size_t>(),
                codec[b]["encode"]["us_per_msg"].get<double>(),
                codec[b]["decode"]["us_per_msg"].get<double>());
  }
  result["codec"] = codec;

  std::printf("wire_bench: DEALER->ROUTER->DEALER round trips\n");
  result["transport"]["inproc"] = TransportBench("inproc", "inproc://wire-bench", quick);
  result["transport"]["tcp_loopback"] =
      TransportBench("tcp", std::string(transport::kLoopbackAnyPort), quick);

  std::ofstream out(out_path);
  if (!out) {
    std::fprintf(stderr, "wire_bench: cannot write %s\n", out_path.c_str());
    return 1;
  }
  out << result.dump(2) << "\n";
  std::printf("wrote %s\n", out_path.c_str());
  return 0;
}
