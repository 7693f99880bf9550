// RewardApi: JSON request handling for /grade and /get_reward, routing. See server_api.h.
#include <algorithm>
#include <chrono>
#include <limits>

#include "scorch/reward/server_api.h"

namespace scorch::reward {
namespace {

using nlohmann::json;

constexpr int kMaxJsonDepth = 64;

// Rejects JSON nested deeper than kMaxJsonDepth before the parser sees it (bounded work,
// and no deep recursion anywhere downstream). Strings are skipped, escapes honoured.
bool JsonDepthOk(std::string_view s) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

StatusOr<json> ParseBody(const std::string& body) {
  if (!JsonDepthOk(body)) {
    return Status::InvalidArgument("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("malformed JSON: ") + e.what());
  }
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse JsonOk(const json& j) {
  HttpResponse r;
  r.body = Dump(j);
  return r;
}

HttpResponse MethodNotAllowed(std::string_view allow, const HttpRequest& req) {
  HttpResponse r = JsonError(405, "method_not_allowed",
                             req.method + " is not allowed on " + req.path + " (use " + std::string(allow) + ")");
  r.headers.push_back({"Allow", std::string(allow)});
  return r;
}

Status FieldError(const std::string& where, const std::string& what) {
  return Status::InvalidArgument(where + ": " + what);
}

StatusOr<int64_t> GetInt(const json& obj, const char* key, const std::string& where, int64_t def,
                         int64_t lo, int64_t hi) {
  if (!obj.contains(key)) return def;
  const json& v = obj[key];
  if (!v.is_number_integer()) return FieldError(where + "." + key, "must be an integer");
  int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) {
    return FieldError(where + "." + key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return x;
}

StatusOr<TrajectoryView> ParseItem(const json& item, const std::string& where, Protocol default_protocol) {
  if (!item.is_object()) return FieldError(where, "must be an object");
  TrajectoryView t;
  if (!item.contains("gold") || !item["gold"].is_string()) return FieldError(where + ".gold", "required string");
  t.gold = item["gold"].get<std::string>();
  int sources = item.contains("pred") + item.contains("response") + item.contains("turns");
  if (sources != 1) return FieldError(where, "give exactly one of 'pred', 'response' or 'turns'");
  t.protocol = default_protocol;
  if (item.contains("protocol")) {
    if (!item["protocol"].is_string()) return FieldError(where + ".protocol", "must be a string");
    auto p = ParseProtocol(item["protocol"].get<std::string>());
    if (!p.ok()) return p.status().WithContext(where + ".protocol");
    t.protocol = *p;
  }
  if (item.contains("pred")) {
    if (!item["pred"].is_string()) return FieldError(where + ".pred", "must be a string");
    t.protocol = Protocol::kSingle;
    t.attempts_are_answers = true;
    t.turns = {{TurnKind::kAttempt, item["pred"].get<std::string>()}};
  } else if (item.contains("response")) {
    if (!item["response"].is_string()) return FieldError(where + ".response", "must be a string");
    t.turns = SplitResponse(item["response"].get_ref<const std::string&>(), t.protocol);
  } else {
    const json& turns = item["turns"];
    if (!turns.is_array()) return FieldError(where + ".turns", "must be an array");
    for (size_t i = 0; i < turns.size(); ++i) {
      std::string w = where + ".turns[" + std::to_string(i) + "]";
      const json& tj = turns[i];
      if (!tj.is_object() || !tj.contains("text") || !tj["text"].is_string()) {
        return FieldError(w, "must be an object with a string 'text'");
      }
      Turn turn;
      turn.text = tj["text"].get<std::string>();
      if (tj.contains("kind")) {
        if (!tj["kind"].is_string()) return FieldError(w + ".kind", "must be a string");
        auto k = ParseTurnKind(tj["kind"].get<std::string>());
        if (!k.ok()) return k.status().WithContext(w + ".kind");
        turn.kind = *k;
      }
      t.turns.push_back(std::move(turn));
    }
  }
  if (item.contains("token_ids")) {
    const json& ids = item["token_ids"];
    if (!ids.is_array()) return FieldError(where + ".token_ids", "must be an array of integers");
    t.token_ids.reserve(ids.size());
    for (const json& id : ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < std::numeric_limits<int32_t>::min() ||
          id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
        return FieldError(where + ".token_ids", "must be an array of 32-bit integers");
      }
      t.token_ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  }
  SCORCH_ASSIGN_OR_RETURN(t.generated_tokens, GetInt(item, "generated_tokens", where, -1, 0, int64_t{1} << 40));
  SCORCH_ASSIGN_OR_RETURN(t.max_new_tokens, GetInt(item, "max_new_tokens", where, 0, 0, int64_t{1} << 40));
  SCORCH_ASSIGN_OR_RETURN(t.step, GetInt(item, "step", where, -1, -1, std::numeric_limits<int64_t>::max()));
  Status v = t.Validate();
  if (!v.ok()) return v.WithContext(where);
  return t;
}

}  // namespace

json ResultToJson(const RewardResult& r, bool include_dense) {
  json comps = json::object();
  for (const auto& [k, v] : r.components) comps[k] = v;
  json turns = json::array();
  for (const auto& t : r.turns) {
    json tj = {{"kind", TurnKindName(t.kind)}};
    if (t.grade) {
      tj["verdict"] = OracleVerdictName(t.grade->verdict);
      tj["reason"] = t.grade->reason;
    }
    if (t.verdict) {
      tj["self_verdict"] = SelfVerdictName(t.verdict->verdict);
      if (!t.verdict->valid()) tj["reason"] = t.verdict->reason;
    }
    if (t.verdict_agrees) tj["agrees"] = *t.verdict_agrees;
    turns.push_back(std::move(tj));
  }
  json out = {{"verdict", OracleVerdictName(r.final_verdict)},
              {"reason", r.final_reason},
              {"reward", r.reward},
              {"components", std::move(comps)},
              {"turns", std::move(turns)}};
  if (include_dense && !r.dense.empty()) out["dense"] = r.dense;
  return out;
}

RewardApi::RewardApi(RewardApiOptions options, Oracle* oracle, ServerMetrics* metrics,
                     std::unique_ptr<RewardEngine> engine)
    : options_(std::move(options)), oracle_(oracle), metrics_(metrics), engine_(std::move(engine)) {}

StatusOr<std::unique_ptr<RewardApi>> RewardApi::Create(RewardApiOptions options, Oracle* oracle,
                                                       ServerMetrics* metrics) {
  if (metrics == nullptr) return Status::InvalidArgument("RewardApi needs a ServerMetrics");
  SCORCH_ASSIGN_OR_RETURN(auto engine, RewardEngine::Create(options.reward, oracle));
  return std::unique_ptr<RewardApi>(new RewardApi(std::move(options), oracle, metrics, std::move(engine)));
}

StatusOr<std::unique_ptr<RewardEngine>> RewardApi::EngineFor(const json& reward) {
  if (reward.is_null()) return std::unique_ptr<RewardEngine>();
  if (!options_.allow_request_reward) {
    return Status::InvalidArgument("reward: per-request reward options are disabled on this server");
  }
  auto cfg = RewardConfig::FromJson(reward);
  if (!cfg.ok()) return cfg.status();
  return RewardEngine::Create(*cfg, oracle_);
}

std::vector<RewardResult> RewardApi::ScoreAndRecord(const std::vector<TrajectoryView>& trajectories,
                                                    const RewardEngine* engine) {
  const RewardEngine* e = engine != nullptr ? engine : engine_.get();
  std::vector<RewardResult> results = e->ScoreBatch(trajectories);
  for (const auto& r : results) {
    for (const auto& t : r.turns) {
      if (!t.grade) continue;
      metrics_->RecordVerdict(t.grade->verdict);
      if (t.grade->error()) metrics_->RecordError("grader_" + t.grade->reason);
    }
  }
  metrics_->RecordItems(results.size());
  return results;
}

StatusOr<json> RewardApi::Grade(const json& body) {
  if (!body.is_object()) return Status::InvalidArgument("body must be a JSON object");
  if (!body.contains("items") || !body["items"].is_array()) {
    return Status::InvalidArgument("items: required array");
  }
  const json& items = body["items"];
  if (items.size() > options_.max_batch_items) {
    return Status::InvalidArgument("items: " + std::to_string(items.size()) + " items exceed the limit of " +
                                   std::to_string(options_.max_batch_items));
  }
  json options = body.value("options", json::object());
  if (!options.is_object()) return Status::InvalidArgument("options: must be an object");
  Protocol protocol = options_.default_protocol;
  if (options.contains("protocol")) {
    if (!options["protocol"].is_string()) return Status::InvalidArgument("options.protocol: must be a string");
    auto p = ParseProtocol(options["protocol"].get<std::string>());
    if (!p.ok()) return p.status().WithContext("options.protocol");
    protocol = *p;
  }
  bool dense = true;
  if (options.contains("dense")) {
    if (!options["dense"].is_boolean()) return Status::InvalidArgument("options.dense: must be true or false");
    dense = options["dense"].get<bool>();
  }
  auto engine = EngineFor(options.value("reward", json()));
  if (!engine.ok()) return engine.status().WithContext("options.reward");
  std::vector<TrajectoryView> trajectories;
  trajectories.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    SCORCH_ASSIGN_OR_RETURN(auto t, ParseItem(items[i], "items[" + std::to_string(i) + "]", protocol));
    trajectories.push_back(std::move(t));
  }
  auto results = ScoreAndRecord(trajectories, engine->get());
  json out = json::array();
  for (const auto& r : results) out.push_back(ResultToJson(r, dense));
  return json{{"results", std::move(out)}, {"count", results.size()}};
}

StatusOr<json> RewardApi::GetReward(const json& body) {
  if (!body.is_object()) return Status::InvalidArgument("body must be a JSON object");
  auto strings = [&body](const char* key, bool required) -> StatusOr<std::vector<std::string>> {
    if (!body.contains(key) || body[key].is_null()) {
      if (required) return Status::InvalidArgument(std::string(key) + ": required array of strings");
      return std::vector<std::string>();
    }
    const json& a = body[key];
    if (!a.is_array()) return Status::InvalidArgument(std::string(key) + ": must be an array of strings");
    std::vector<std::string> out;
    out.reserve(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) {
        return Status::InvalidArgument(std::string(key) + "[" + std::to_string(i) + "]: must be a string");
      }
      out.push_back(a[i].get<std::string>());
    }
    return out;
  };
  SCORCH_ASSIGN_OR_RETURN(auto queries, strings("query", true));
  SCORCH_ASSIGN_OR_RETURN(auto labels, strings("labels", true));
  SCORCH_ASSIGN_OR_RETURN(auto prompts, strings("prompts", false));
  if (labels.size() != queries.size()) {
    return Status::InvalidArgument("labels: " + std::to_string(labels.size()) + " labels for " +
                                   std::to_string(queries.size()) + " queries");
  }
  if (!prompts.empty() && prompts.size() != queries.size()) {
    return Status::InvalidArgument("prompts: " + std::to_string(prompts.size()) + " prompts for " +
                                   std::to_string(queries.size()) + " queries");
  }
  if (queries.size() > options_.max_batch_items) {
    return Status::InvalidArgument("query: " + std::to_string(queries.size()) + " items exceed the limit of " +
                                   std::to_string(options_.max_batch_items));
  }
  Protocol protocol = options_.default_protocol;
  if (body.contains("protocol")) {
    if (!body["protocol"].is_string()) return Status::InvalidArgument("protocol: must be a string");
    auto p = ParseProtocol(body["protocol"].get<std::string>());
    if (!p.ok()) return p.status().WithContext("protocol");
    protocol = *p;
  }
  auto engine = EngineFor(body.value("reward", json()));
  if (!engine.ok()) return engine.status().WithContext("reward");

  std::vector<TrajectoryView> trajectories(queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    std::string_view response = queries[i];
    if (!prompts.empty()) {
      if (response.substr(0, prompts[i].size()) == prompts[i]) {
        response.remove_prefix(prompts[i].size());
      } else {
        metrics_->RecordError("prompt_not_prefix");
      }
    }
    TrajectoryView& t = trajectories[i];
    t.protocol = protocol;
    t.gold = labels[i];
    t.turns = SplitResponse(response, protocol);
  }
  const RewardEngine* e = engine->get() != nullptr ? engine->get() : engine_.get();
  auto results = ScoreAndRecord(trajectories, e);

  json rewards = json::array(), scores = json::array();
  // extra_logs: one list per always-meaningful component and per configured rule.
  std::vector<std::string> keys = {"correct", "grader_error", "attempts"};
  for (const auto& spec : e->config().rules) {
    if (std::find(keys.begin(), keys.end(), spec.name) == keys.end()) keys.push_back(spec.name);
  }
  json logs = json::object();
  for (const auto& k : keys) logs[k] = json::array();
  for (const auto& r : results) {
    rewards.push_back(r.reward);
    scores.push_back(r.Component("correct"));
    for (const auto& k : keys) logs[k].push_back(r.Component(k));
  }
  return json{{"rewards", std::move(rewards)}, {"scores", std::move(scores)}, {"extra_logs", std::move(logs)}};
}

HttpResponse RewardApi::Handle(const HttpRequest& req) {
  const std::string& path = req.path;
  if (path == "/health") {
    if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("GET", req);
    if (stopping_) {
      HttpResponse r = JsonOk({{"status", "stopping"}});
      r.status = 503;
      return r;
    }
    return JsonOk({{"status", "ok"}});
  }
  if (path == "/metrics") {
    if (req.method != "GET") return MethodNotAllowed("GET", req);
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_->RenderPrometheus();
    return r;
  }
  if (path == "/grade" || path == "/get_reward") {
    if (req.method != "POST") return MethodNotAllowed("POST", req);
    auto body = ParseBody(req.body);
    if (!body.ok()) {
      metrics_->RecordError("bad_json");
      return JsonError(400, "bad_json", body.status().message());
    }
    auto reply = path == "/grade" ? Grade(*body) : GetReward(*body);
    if (!reply.ok()) {
      metrics_->RecordError("bad_request");
      return JsonError(400, "bad_request", reply.status().message());
    }
    return JsonOk(*reply);
  }
  return JsonError(404, "not_found", "no route for " + path +
                                         " (routes: POST /grade, POST /get_reward, GET /health, GET /metrics)");
}

}  // namespace scorch::reward
