// RolloutEngine: protocols over one continuous-batching generator.
#include "scorch/rollout/rollout_engine.h"

#include <algorithm>
#include <utility>

namespace scorch::rollout {

RolloutEngine::RolloutEngine(Generator& generator, const model::Tokenizer& tokenizer, const ProtocolOptions& options)
    : generator_(generator), tokenizer_(tokenizer), options_(options), stop_tokens_(tokenizer.StopTokenIds()) {}

StatusOr<const TurnProtocol*> RolloutEngine::Protocol(const std::string& name) {
  auto it = protocols_.find(name);
  if (it == protocols_.end()) {
    SCORCH_ASSIGN_OR_RETURN(auto p, CreateProtocol(name, options_));
    it = protocols_.emplace(name, std::move(p)).first;
  }
  return it->second.get();
}

Status RolloutEngine::Submit(const proto::GenerateRequest& request, int64_t policy_version) {
  const std::string name = request.protocol.empty() ? default_protocol : request.protocol;
  SCORCH_ASSIGN_OR_RETURN(const TurnProtocol* protocol, Protocol(name));
  if (request.sampling.max_new_tokens <= 0) {
    return Status::InvalidArgument("GenerateRequest.sampling.max_new_tokens must be > 0");
  }
  model::SamplingParams check{request.sampling.temperature, request.sampling.top_k, request.sampling.top_p, 0};
  SCORCH_RETURN_IF_ERROR(check.Validate().WithContext("GenerateRequest.sampling"));
  Running run;
  run.episode = protocol->NewEpisode(request, tokenizer_);
  run.protocol = std::string(protocol->name());
  run.policy_version = policy_version;
  SCORCH_ASSIGN_OR_RETURN(auto first, run.episode->Begin());
  const uint64_t id = next_id_++;
  episodes_.emplace(id, std::move(run));
  Continue(id, first);
  return Status::Ok();
}

void RolloutEngine::Continue(uint64_t id, const std::optional<TurnSpec>& spec) {
  Running& run = episodes_.at(id);
  if (!spec) return Complete(id);
  Episode& ep = *run.episode;
  const proto::GenerateRequest& req = ep.request();
  const int64_t room = generator_.model().max_seq_len() - static_cast<int64_t>(ep.builder().tokens().size());
  if (room < 1) {
    ep.Abandon("context full", /*context_full=*/true);
    return Complete(id);
  }
  GenerationRequest g;
  g.id = id;
  g.prompt = ep.builder().tokens();
  g.sampling.temperature = req.sampling.temperature;
  g.sampling.top_k = req.sampling.top_k;
  g.sampling.top_p = req.sampling.top_p;
  g.sampling.seed = ep.SeedFor(ep.generations());
  g.max_new_tokens = std::min<int64_t>(spec->max_new_tokens.value_or(req.sampling.max_new_tokens), room);
  g.stop_token_ids = stop_tokens_;
  for (int32_t t : req.sampling.stop_token_ids) g.stop_token_ids.push_back(t);
  g.stop_strings = req.sampling.stop_strings;
  for (const auto& s : spec->stop_strings) g.stop_strings.push_back(s);
  if (reuse_kv) g.session = id;
  generator_.Submit(std::move(g));
}

void RolloutEngine::Complete(uint64_t id) {
  auto it = episodes_.find(id);
  Running run = std::move(it->second);
  episodes_.erase(it);
  generator_.EndSession(id);
  EpisodeResult out;
  const proto::GenerateRequest& req = run.episode->request();
  out.trajectory = std::move(run.episode->builder().trajectory());
  out.trajectory.step = req.step;
  out.trajectory.prompt_id = req.prompt_id;
  out.trajectory.sample_idx = req.sample_idx;
  out.trajectory.lease_id = req.lease_id;
  out.trajectory.policy_version = run.policy_version;
  if (!run.token_terms.empty()) {
    out.trajectory.hidden_state_score = static_cast<float>(
        model::SwiftHeadImpl::CombineTokenTerms(run.token_terms, generator_.model().TokenTermsGated()));
  }
  out.stats = run.episode->stats();
  out.protocol = std::move(run.protocol);
  ready_.push_back(std::move(out));
}

std::vector<EpisodeResult> RolloutEngine::Step() {
  for (auto& r : generator_.Step()) {
    auto it = episodes_.find(r.id);
    if (it == episodes_.end()) continue;  // not ours (cannot happen with a private generator)
    auto& terms = it->second.token_terms;
    terms.insert(terms.end(), r.token_terms.begin(), r.token_terms.end());
    auto next = it->second.episode->OnGenerated(r);
    if (!next.ok()) {
      it->second.episode->Abandon(next.status().message(), /*context_full=*/false);
      Complete(r.id);
      continue;
    }
    Continue(r.id, *next);
  }
  std::vector<EpisodeResult> out = std::move(ready_);
  ready_.clear();
  return out;
}

std::vector<EpisodeResult> RolloutEngine::RunToCompletion() {
  std::vector<EpisodeResult> all;
  while (!Idle()) {
    for (auto& r : Step()) all.push_back(std::move(r));
  }
  return all;
}

}  // namespace scorch::rollout
