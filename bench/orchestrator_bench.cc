// orchestrator_bench: how many work leases per second the orchestrator's Dispatcher turns over
// with 1000 rollout workers, and how much latency it adds to each trajectory.
//
// 1000 simulated rollout workers are 1000 real DEALER sockets (distinct routing ids and pipes,
// as the ROUTER sees them in production) driven by a few simulator threads that poll them:
// each socket says Hello with capacity 2, heartbeats every second, and answers every
// GenerateRequest at once with a canned 256-token Trajectory carrying the request's identity.
//   * dispatcher: Generate() calls of 8 × the fleet's credit run back to back for a few seconds;
//     leases/s = leases handed out / seconds inside Generate. Added latency per trajectory =
//     (lease handed out → result accepted, from the Dispatcher's on_result hook) minus the
//     worker's own time (request received → trajectory sent, measured in the simulator).
//   * baseline (same run, same fleet): a bare transport::Router "echo" that answers each
//     Trajectory with a new GenerateRequest (decode + encode + send, no leases, no
//     bookkeeping): the transport + codec ceiling the Dispatcher is compared with.
// Both over inproc:// (embedded mode) and tcp://127.0.0.1 (distributed mode).
//
// Usage: orchestrator_bench --out FILE [--workers N] [--seconds S] [--sim-threads T]
//                           [--transport inproc|tcp|both]
// Other top-level keys already in FILE (e.g. "quickstart", folded in by run_all.sh) are kept.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include <nlohmann/json.hpp>

#include "scorch/common/logging.h"
#include "scorch/common/proto/message.h"
#include "scorch/common/transport/router.h"
#include "scorch/orchestrator/dispatcher.h"

namespace {

using namespace scorch;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr int kCapacity = 2;
constexpr int kTrajectoryTokens = 256;

int64_t Ns(Clock::duration d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

json Summary(const std::vector<double>& us) {
  double sum = 0;
  for (double x : us) sum += x;
  return {{"p50", Percentile(us, 0.50)},
          {"p99", Percentile(us, 0.99)},
          {"mean", us.empty() ? 0.0 : sum / static_cast<double>(us.size())},
          {"n", us.size()}};
}

proto::Trajectory CannedTrajectory() {
  proto::Trajectory t;
  t.token_ids.resize(kTrajectoryTokens);
  t.logprobs.resize(kTrajectoryTokens);
  t.trainable_mask.resize(kTrajectoryTokens);
  for (int i = 0; i < kTrajectoryTokens; ++i) {
    t.token_ids[i] = 1000 + (i * 7919) % 30000;
    t.logprobs[i] = i < 64 ? 0.0f : -0.1f * static_cast<float>(i % 13);
    t.trainable_mask[i] = i < 64 ? 0 : 1;
  }
  t.segments = {{proto::ChatRole::kUser, 0, proto::SegmentKind::kPrompt, 0, 64, "prompt"},
                {proto::ChatRole::kAssistant, 0, proto::SegmentKind::kAttempt, 64, kTrajectoryTokens,
                 "attempt ... \\boxed{42}"}};
  t.finish_reasons = {proto::FinishReason::kEos};
  t.turn_answers = {"42"};
  return t;
}

proto::GenerateRequest RequestTemplate() {
  proto::GenerateRequest r;
  r.prompt_text = "Tom has 17 apples and buys 3 bags of 12. He gives away 9. How many are left?";
  r.protocol = "srr";
  r.sampling.max_new_tokens = 256;
  r.gold_answer = "44";
  return r;
}

// The simulated fleet: `workers` DEALER sockets over `threads` threads.
class Fleet {
 public:
  Fleet(zmq::context_t& ctx, std::string endpoint, int workers, int threads)
      : ctx_(ctx), endpoint_(std::move(endpoint)), own_(static_cast<size_t>(threads)),
        turnaround_(static_cast<size_t>(threads)) {
    for (int t = 0; t < threads; ++t) {
      const int begin = workers * t / threads, end = workers * (t + 1) / threads;
      threads_.emplace_back([this, t, begin, end] { Run(t, begin, end); });
    }
  }
  ~Fleet() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  // Starts/stops recording per-lease own time and turnaround.
  void Record(bool on) { record_ = on; }
  int64_t answered() const { return answered_; }
  // lease id -> the worker's own time (ns), merged over threads. Call after Stop().
  std::unordered_map<uint64_t, int64_t> OwnTimes() const {
    std::unordered_map<uint64_t, int64_t> out;
    for (const auto& v : own_) {
      for (const auto& [id, ns] : v) out[id] = ns;
    }
    return out;
  }
  // Worker-side turnaround (µs): trajectory sent -> next request on the same socket.
  std::vector<double> Turnarounds() const {
    std::vector<double> out;
    for (const auto& v : turnaround_) out.insert(out.end(), v.begin(), v.end());
    return out;
  }

 private:
  void Run(int thread, int begin, int end) {
    const proto::Trajectory canned = CannedTrajectory();
    std::vector<zmq::socket_t> sockets;
    std::vector<Clock::time_point> next_hb, last_sent;
    std::vector<uint64_t> seq;
    for (int i = begin; i < end; ++i) {
      zmq::socket_t s(ctx_, zmq::socket_type::dealer);
      s.set(zmq::sockopt::routing_id, "sim-" + std::to_string(i));
      s.set(zmq::sockopt::linger, 0);
      s.connect(endpoint_);
      // A join storm overflows the listener's accept backlog (ZeroMQ's default is 100) and the
      // kernel then retries SYNs after 1 s, 3 s, ...: connect in small waves instead.
      if ((i - begin) % 25 == 24) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      proto::Hello hello;
      hello.role = proto::Role::kRollout;
      hello.rank = i;
      hello.capacity = kCapacity;
      hello.policy_version = 0;
      hello.host = "sim";
      const std::string bytes = *proto::EncodeMessage(hello);
      s.send(zmq::buffer(bytes), zmq::send_flags::none);
      sockets.push_back(std::move(s));
      next_hb.push_back(Clock::now() + std::chrono::milliseconds(1000 * (i - begin) / std::max(1, end - begin)));
      last_sent.push_back(Clock::time_point{});
      seq.push_back(0);
    }
    std::vector<zmq::pollitem_t> items;
    for (auto& s : sockets) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
    auto& own = own_[static_cast<size_t>(thread)];
    auto& turnaround = turnaround_[static_cast<size_t>(thread)];
    zmq::message_t msg;
    while (!stop_) {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(5));
      for (size_t k = 0; k < sockets.size(); ++k) {
        if (!(items[k].revents & ZMQ_POLLIN)) continue;
        while (sockets[k].recv(msg, zmq::recv_flags::dontwait)) {
          const auto t0 = Clock::now();
          auto decoded = proto::DecodeMessage(msg.to_string_view());
          if (!decoded.ok()) continue;
          const auto* r = std::get_if<proto::GenerateRequest>(&*decoded);
          if (r == nullptr) continue;
          const bool record = record_;
          if (record && last_sent[k] != Clock::time_point{}) {
            turnaround.push_back(static_cast<double>(Ns(t0 - last_sent[k])) / 1e3);
          }
          proto::Trajectory t = canned;
          t.step = r->step;
          t.prompt_id = r->prompt_id;
          t.sample_idx = r->sample_idx;
          t.lease_id = r->lease_id;
          const std::string bytes = *proto::EncodeMessage(t);
          sockets[k].send(zmq::buffer(bytes), zmq::send_flags::none);
          const auto t1 = Clock::now();
          last_sent[k] = t1;
          ++answered_;
          if (record) own.emplace_back(r->lease_id, Ns(t1 - t0));
        }
      }
      const auto now = Clock::now();
      for (size_t k = 0; k < sockets.size(); ++k) {
        if (now < next_hb[k]) continue;
        proto::Heartbeat hb;
        hb.seq = seq[k]++;
        const std::string bytes = *proto::EncodeMessage(hb);
        sockets[k].send(zmq::buffer(bytes), zmq::send_flags::dontwait);
        next_hb[k] = now + std::chrono::seconds(1);
      }
    }
  }

  zmq::context_t& ctx_;
  std::string endpoint_;
  std::atomic<bool> stop_{false}, record_{false};
  std::atomic<int64_t> answered_{0};
  std::vector<std::vector<std::pair<uint64_t, int64_t>>> own_;
  std::vector<std::vector<double>> turnaround_;
  std::vector<std::thread> threads_;
};

std::string Endpoint(const std::string& transport, const std::string& name) {
  return transport == "tcp" ? "tcp://127.0.0.1:*" : "inproc://orchestrator-bench-" + name;
}

// The Dispatcher under load: back-to-back Generate calls for `seconds`.
json RunDispatcher(zmq::context_t& ctx, const std::string& transport, int workers, int threads,
                   double seconds) {
  orchestrator::DispatcherOptions o;
  o.endpoint = Endpoint(transport, "dispatcher");
  o.poll_interval = std::chrono::milliseconds(5);
  o.lease_timeout = std::chrono::seconds(60);
  o.heartbeat_timeout = std::chrono::seconds(10);
  o.stall_timeout = std::chrono::seconds(30);
  // The hook runs on this thread, inside Generate.
  std::vector<std::pair<uint64_t, int64_t>> dispatch_to_result;  // lease, ns
  bool record = false;
  o.on_result = [&](uint64_t lease, transport::SteadyTime leased, transport::SteadyTime accepted) {
    if (record) dispatch_to_result.emplace_back(lease, Ns(accepted - leased));
  };
  auto bound = orchestrator::Dispatcher::Bind(o, &ctx);
  if (!bound.ok()) throw std::runtime_error(bound.status().ToString());
  auto& d = **bound;
  Fleet fleet(ctx, d.endpoint(), workers, threads);
  const auto join_start = Clock::now();
  Status joined = d.WaitForPeers(workers, 0, std::chrono::seconds(60));
  if (!joined.ok()) throw std::runtime_error(joined.ToString());
  const double join_s = Seconds(Clock::now() - join_start);

  int batch = 8 * workers * kCapacity;
  int64_t step = 0;
  auto generate = [&](orchestrator::GenerateStats* stats) {
    std::vector<proto::GenerateRequest> requests;
    requests.reserve(static_cast<size_t>(batch));
    const proto::GenerateRequest tmpl = RequestTemplate();
    for (int i = 0; i < batch; ++i) {
      proto::GenerateRequest r = tmpl;
      r.step = step;
      r.prompt_id = i / 8;
      r.sample_idx = i % 8;
      requests.push_back(std::move(r));
    }
    auto out = d.Generate(std::move(requests), stats);
    if (!out.ok()) throw std::runtime_error(out.status().ToString());
    d.ForgetStepsBefore(step);
    ++step;
  };
  generate(nullptr);  // warm-up
  fleet.Record(true);
  record = true;
  int64_t leases = 0, duplicates = 0, calls = 0;
  double inside = 0;
  const auto start = Clock::now();
  while (Seconds(Clock::now() - start) < seconds) {
    orchestrator::GenerateStats stats;
    generate(&stats);
    leases += stats.leases;
    duplicates += stats.duplicates;
    inside += stats.seconds;
    ++calls;
  }
  const size_t saturated_results = dispatch_to_result.size();
  // One request per Generate call: nothing queues behind other work, so the latency is the
  // dispatcher's own cost per trajectory (compare the baseline's one-at-a-time round trip).
  const int saturated_batch = batch;
  batch = 1;
  int64_t light_calls = 0;
  const auto light_start = Clock::now();
  while (Seconds(Clock::now() - light_start) < seconds / 4 && light_calls < 5000) {
    generate(nullptr);
    ++light_calls;
  }
  record = false;
  fleet.Record(false);
  const json status = d.StatusJson();
  d.Shutdown("bench over", false, std::chrono::milliseconds(0));
  fleet.Stop();

  const auto own = fleet.OwnTimes();
  std::vector<double> added, raw, own_us, light_added, light_raw;
  for (size_t i = 0; i < dispatch_to_result.size(); ++i) {
    const auto& [lease, ns] = dispatch_to_result[i];
    const bool light = i >= saturated_results;
    (light ? light_raw : raw).push_back(static_cast<double>(ns) / 1e3);
    auto it = own.find(lease);
    if (it == own.end()) continue;
    if (!light) own_us.push_back(static_cast<double>(it->second) / 1e3);
    (light ? light_added : added).push_back(static_cast<double>(ns - it->second) / 1e3);
  }
  return {{"workers", workers},
          {"one_at_a_time",
           {{"generate_calls", light_calls},
            {"added_latency_us", Summary(light_added)},
            {"dispatch_to_result_us", Summary(light_raw)}}},
          {"join_seconds", join_s},
          {"generate_calls", calls},
          {"batch_requests", saturated_batch},
          {"leases", leases},
          {"duplicates", duplicates},
          {"seconds_in_generate", inside},
          {"leases_per_s", inside > 0 ? static_cast<double>(leases) / inside : 0.0},
          {"added_latency_us", Summary(added)},
          {"dispatch_to_result_us", Summary(raw)},
          {"worker_own_us", Summary(own_us)},
          {"worker_turnaround_us", Summary(fleet.Turnarounds())},
          {"malformed_frames", status["peer_faults"]["malformed_frames"]}};
}

// Baseline: a bare Router that answers every Trajectory with a new GenerateRequest.
json RunBaseline(zmq::context_t& ctx, const std::string& transport, int workers, int threads,
                 double seconds) {
  auto bound = transport::Router::Bind(Endpoint(transport, "baseline"), {}, &ctx);
  if (!bound.ok()) throw std::runtime_error(bound.status().ToString());
  auto& router = **bound;
  Fleet fleet(ctx, router.endpoint(), workers, threads);
  proto::GenerateRequest request = RequestTemplate();
  uint64_t lease = 1;
  auto send_request = [&](const std::string& peer) {
    request.lease_id = lease++;
    request.prompt_id = static_cast<int64_t>(lease % 100000);
    auto bytes = proto::EncodeMessage(request);
    (void)router.SendEncoded(peer, *bytes);
  };
  std::vector<std::string> joined;  // requests start once every worker is in, as in Generate
  int64_t round_trips = 0;
  bool counting = false;
  const auto start = Clock::now();
  Clock::time_point measure_start{}, measure_end{};
  while (true) {
    const auto now = Clock::now();
    if (!counting && static_cast<int>(joined.size()) == workers) {
      counting = true;
      fleet.Record(true);
      measure_start = now;
    }
    if (counting && Seconds(now - measure_start) >= seconds) {
      measure_end = now;
      break;
    }
    if (Seconds(now - start) > 60) throw std::runtime_error("baseline: fleet did not join");
    auto in = router.Receive(std::chrono::milliseconds(5));
    if (!in.ok()) throw std::runtime_error(in.status().ToString());
    if (!*in) continue;
    if (std::holds_alternative<proto::Hello>((*in)->message)) {
      joined.push_back((*in)->peer);
      if (static_cast<int>(joined.size()) == workers) {
        for (const auto& peer : joined) {
          for (int c = 0; c < kCapacity; ++c) send_request(peer);
        }
      }
    } else if (std::holds_alternative<proto::Trajectory>((*in)->message)) {
      if (counting) ++round_trips;
      send_request((*in)->peer);
    }
  }
  // Drain what is in flight, then one request at a time: the bare round trip's latency.
  const auto drain_end = Clock::now() + std::chrono::seconds(10);
  int64_t in_flight = static_cast<int64_t>(workers) * kCapacity;
  while (in_flight > 0 && Clock::now() < drain_end) {
    auto in = router.Receive(std::chrono::milliseconds(5));
    if (!in.ok()) throw std::runtime_error(in.status().ToString());
    if (*in && std::holds_alternative<proto::Trajectory>((*in)->message)) --in_flight;
  }
  std::vector<std::pair<uint64_t, int64_t>> pings;  // lease, ns
  const auto ping_start = Clock::now();
  for (size_t i = 0; Seconds(Clock::now() - ping_start) < seconds / 2 && i < 5000; ++i) {
    const uint64_t id = lease;
    const auto sent = Clock::now();
    send_request(joined[i % joined.size()]);
    while (Seconds(Clock::now() - sent) < 5) {
      auto in = router.Receive(std::chrono::milliseconds(5));
      if (!in.ok()) throw std::runtime_error(in.status().ToString());
      const auto* t = *in ? std::get_if<proto::Trajectory>(&(*in)->message) : nullptr;
      if (t != nullptr && t->lease_id == id) {
        pings.emplace_back(id, Ns(Clock::now() - sent));
        break;
      }
    }
  }
  fleet.Record(false);
  fleet.Stop();
  const auto own = fleet.OwnTimes();
  std::vector<double> ping_us;
  for (const auto& [id, ns] : pings) {
    auto it = own.find(id);
    if (it != own.end()) ping_us.push_back(static_cast<double>(ns - it->second) / 1e3);
  }
  const double s = Seconds(measure_end - measure_start);
  const double join_s = Seconds(measure_start - start);
  return {{"join_seconds", join_s},
          {"round_trips", round_trips},
          {"seconds", s},
          {"round_trips_per_s", s > 0 ? static_cast<double>(round_trips) / s : 0.0},
          {"worker_turnaround_us", Summary(fleet.Turnarounds())},
          {"one_at_a_time_round_trip_us", Summary(ping_us)}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path = "bench/results/orchestrator.json";
  std::string which = "both";
  int workers = 1000, threads = 2;
  double seconds = 4.0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (a == "--workers" && i + 1 < argc) {
      workers = std::stoi(argv[++i]);
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (a == "--sim-threads" && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else if (a == "--transport" && i + 1 < argc) {
      which = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: orchestrator_bench --out FILE [--workers N] [--seconds S] "
                   "[--sim-threads T] [--transport inproc|tcp|both]\n");
      return 2;
    }
  }
  if (workers < 1 || threads < 1 || seconds <= 0 ||
      (which != "inproc" && which != "tcp" && which != "both")) {
    std::fprintf(stderr, "orchestrator_bench: bad arguments\n");
    return 2;
  }
  // 1000 sockets each side over tcp need ~4000 descriptors; ZeroMQ allows 1023 sockets by default.
  rlimit fds{};
  if (getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
    fds.rlim_cur = fds.rlim_max;
    setrlimit(RLIMIT_NOFILE, &fds);
  }
  json doc = json::object();
  if (std::ifstream in(out_path); in) {
    try {
      doc = json::parse(in);
    } catch (const std::exception&) {
      doc = json::object();
    }
    if (!doc.is_object()) doc = json::object();
  }
  // 2000 "worker joined" lines would drown the figures.
  log::LogOptions log_options;
  log_options.min_level = log::Level::kWARNING;
  log::InitLogging(log_options);
  const auto wall_start = Clock::now();
  try {
    zmq::context_t ctx(1);
    ctx.set(zmq::ctxopt::max_sockets, 4 * workers + 64);
    for (const std::string transport : {"inproc", "tcp"}) {
      if (which != "both" && which != transport) continue;
      std::fprintf(stderr, "orchestrator_bench: %s, %d workers...\n", transport.c_str(), workers);
      json base = RunBaseline(ctx, transport, workers, threads, seconds / 2);
      json disp = RunDispatcher(ctx, transport, workers, threads, seconds);
      const double rate = disp["leases_per_s"].get<double>();
      const double bare_us = base["one_at_a_time_round_trip_us"]["p50"].get<double>();
      const double disp_us = disp["one_at_a_time"]["added_latency_us"]["p50"].get<double>();
      const double ceiling = base["round_trips_per_s"].get<double>();
      doc[transport] = {{"dispatcher", disp},
                        {"baseline_router_echo", base},
                        {"dispatcher_over_baseline", ceiling > 0 ? rate / ceiling : 0.0},
                        {"dispatcher_added_over_bare_round_trip_p50_us", disp_us - bare_us}};
      std::fprintf(stderr,
                   "  dispatcher %.0f leases/s; bare router echo %.0f round trips/s; added latency "
                   "per trajectory: one at a time p50 %.0f us p99 %.0f us, saturated p50 %.0f us\n",
                   rate, ceiling, disp["one_at_a_time"]["added_latency_us"]["p50"].get<double>(),
                   disp["one_at_a_time"]["added_latency_us"]["p99"].get<double>(),
                   disp["added_latency_us"]["p50"].get<double>());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "orchestrator_bench: %s\n", e.what());
    return 1;
  }
  doc["workers"] = workers;
  doc["capacity_per_worker"] = kCapacity;
  doc["trajectory_tokens"] = kTrajectoryTokens;
  doc["simulator_threads"] = threads;
  doc["cores"] = std::thread::hardware_concurrency();
  doc["bench_wall_seconds"] = Seconds(Clock::now() - wall_start);
  if (std::ifstream load("/proc/loadavg"); load) {
    double one = 0;
    load >> one;
    doc["load_average_1m_at_end"] = one;  // the machine is shared: context for the figures
  }
  doc["notes"] =
      "1000 simulated rollout workers = 1000 real DEALER sockets (own routing ids and pipes, so "
      "the ROUTER does its real per-peer fair queueing and routing), driven by a few simulator "
      "threads polling them; threads-per-worker would measure the scheduler on 2 cores, not the "
      "dispatcher, and one socket with many identities is impossible for a DEALER (one routing "
      "id per connection). Each worker: capacity 2, heartbeat every 1 s, answers every request "
      "at once with a canned 256-token trajectory. leases_per_s = leases / time inside "
      "Generate (8x fleet credit per call, back to back, each call's ramp-up and tail "
      "included). added_latency = (lease handed out -> result accepted) - worker's own time "
      "(request received -> trajectory sent); it includes queueing in both sockets and the "
      "simulator threads' own scheduling delay, so it is an upper bound. Under saturation "
      "(2000 leases in flight) it is dominated by queueing (Little's law: in flight / rate); "
      "one_at_a_time (Generate calls of one request) shows the per-trajectory cost without "
      "queueing, to compare with the baseline's one-at-a-time bare round trip (router -> "
      "worker -> router, minus the worker's own time); their difference is what the "
      "dispatcher adds. Baseline "
      "(same run, same fleet): a bare transport::Router echo (decode each trajectory, encode "
      "and send a new request; no leases). The simulator shares the machine's cores with the "
      "dispatcher, so both figures are bounded by the simulator too.";
  std::filesystem::create_directories(std::filesystem::path(out_path).parent_path().empty()
                                          ? std::filesystem::path(".")
                                          : std::filesystem::path(out_path).parent_path());
  std::ofstream(out_path) << doc.dump(2) << "\n";
  std::fprintf(stderr, "orchestrator_bench: wrote %s\n", out_path.c_str());
  return 0;
}
