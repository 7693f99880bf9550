// Generator: continuous batching, sampling and stopping (see the header for the rules).
#include "scorch/rollout/generator.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "scorch/model/unicode.h"

namespace scorch::rollout {

const char* GenFinishName(GenFinish f) {
  switch (f) {
    case GenFinish::kStopToken: return "stop_token";
    case GenFinish::kStopString: return "stop_string";
    case GenFinish::kLength: return "length";
    case GenFinish::kError: return "error";
  }
  return "?";
}

struct Generator::Sequence {
  explicit Sequence(GenerationRequest r) : request(std::move(r)), rng(request.sampling.seed) {}

  GenerationRequest request;
  model::RequestRng rng;
  std::vector<TokenId> feed;  // tokens for the next forward: the prompt, then the last sample
  GenerationResult result;
  std::string bytes;          // decoded bytes of the generated tokens so far
  size_t max_stop_len = 0;
  std::optional<size_t> cut;  // byte length of `text` when a stop string matched
  // Finished, but its last token is fed once more first: a SWIFT head scores the state that
  // read each generated token, the last one (end of turn) included (ALGORITHMS §5).
  bool feeding_last = false;
};

Generator::Generator(StepModel& model, const model::Tokenizer& tokenizer, const GeneratorOptions& options)
    : model_(model),
      tokenizer_(tokenizer),
      options_(options),
      slots_(static_cast<size_t>(model.num_slots())),
      padding_(static_cast<size_t>(model.num_slots())),
      parked_(static_cast<size_t>(model.num_slots())) {}

Generator::~Generator() = default;

void Generator::Submit(GenerationRequest request) { waiting_.push_back(std::move(request)); }

namespace {

GenerationResult Rejected(const GenerationRequest& r, std::string why) {
  GenerationResult out;
  out.id = r.id;
  out.finish = GenFinish::kError;
  out.error = std::move(why);
  return out;
}

}  // namespace

std::string Generator::Invalid(const GenerationRequest& r) const {
  const int64_t n = static_cast<int64_t>(r.prompt.size());
  if (Status s = r.sampling.Validate(); !s.ok()) return "invalid sampling parameters: " + s.message();
  if (n == 0) return "empty prompt";
  if (n >= model_.max_seq_len()) {
    return "prompt of " + std::to_string(n) + " tokens leaves no room in a slot of " +
           std::to_string(model_.max_seq_len());
  }
  if (r.max_new_tokens <= 0) return "max_new_tokens must be > 0, got " + std::to_string(r.max_new_tokens);
  auto bad = std::find_if(r.prompt.begin(), r.prompt.end(),
                          [&](TokenId t) { return t < 0 || t >= model_.vocab_size(); });
  if (bad != r.prompt.end()) {
    return "prompt token id " + std::to_string(*bad) + " outside the vocabulary of " +
           std::to_string(model_.vocab_size());
  }
  return "";
}

void Generator::Place(size_t slot, GenerationRequest r) {
  auto seq = std::make_unique<Sequence>(std::move(r));
  const std::vector<TokenId>& prompt = seq->request.prompt;
  const auto s = static_cast<int64_t>(slot);
  size_t reuse = 0;
  if (parked_[slot]) {
    const Parked& p = *parked_[slot];
    const bool same = seq->request.session != 0 && p.session == seq->request.session;
    if (same && p.cached.size() < prompt.size() && model_.SlotLength(s) == static_cast<int64_t>(p.cached.size()) &&
        std::equal(p.cached.begin(), p.cached.end(), prompt.begin())) {
      reuse = p.cached.size();
    } else if (same) {
      ++stats_.prefix_misses;
    }
    parked_[slot].reset();
  }
  if (reuse == 0) model_.ResetSlot(s);
  model_.BeginGeneration(s);
  seq->feed.assign(prompt.begin() + static_cast<std::ptrdiff_t>(reuse), prompt.end());
  seq->result.id = seq->request.id;
  seq->result.reused_prompt_tokens = static_cast<int64_t>(reuse);
  stats_.reused_prompt_tokens += static_cast<int64_t>(reuse);
  for (const auto& str : seq->request.stop_strings) seq->max_stop_len = std::max(seq->max_stop_len, str.size());
  slots_[slot] = std::move(seq);
  ++active_count_;
}

void Generator::Admit(std::vector<GenerationResult>* finished) {
  if (!options_.continuous && active_count_ > 0) return;
  std::fill(padding_.begin(), padding_.end(), std::nullopt);  // the previous static batch is over
  // 1. A session's request goes to its parked slot, ahead of the FIFO order.
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    if (!parked_[slot]) continue;
    auto it = std::find_if(waiting_.begin(), waiting_.end(),
                           [&](const GenerationRequest& r) { return r.session == parked_[slot]->session; });
    if (it == waiting_.end()) continue;
    GenerationRequest r = std::move(*it);
    waiting_.erase(it);
    if (std::string why = Invalid(r); !why.empty()) {
      finished->push_back(Rejected(r, std::move(why)));
      continue;  // the slot stays parked; EndSession frees it
    }
    Place(slot, std::move(r));
  }
  // 2. FIFO into free slots; parked slots are taken (evicted) only when no free one is left.
  auto next_free = [&]() -> std::optional<size_t> {
    std::optional<size_t> oldest;
    for (size_t slot = 0; slot < slots_.size(); ++slot) {
      if (slots_[slot]) continue;
      if (!parked_[slot]) return slot;
      if (!oldest || parked_[slot]->since_step < parked_[*oldest]->since_step) oldest = slot;
    }
    return oldest;
  };
  while (!waiting_.empty()) {
    GenerationRequest r = std::move(waiting_.front());
    waiting_.pop_front();
    if (std::string why = Invalid(r); !why.empty()) {
      finished->push_back(Rejected(r, std::move(why)));
      continue;
    }
    auto slot = next_free();
    if (!slot) {
      waiting_.push_front(std::move(r));
      break;
    }
    if (parked_[*slot] && parked_[*slot]->session != r.session) ++stats_.evictions;
    Place(*slot, std::move(r));
  }
}

void Generator::EndSession(uint64_t session) {
  if (session == 0) return;
  for (size_t slot = 0; slot < parked_.size(); ++slot) {
    if (parked_[slot] && parked_[slot]->session == session) {
      parked_[slot].reset();
      model_.ResetSlot(static_cast<int64_t>(slot));
    }
  }
}

int64_t Generator::parked() const {
  return std::count_if(parked_.begin(), parked_.end(), [](const auto& p) { return p.has_value(); });
}

GenerationResult Generator::Finish(size_t slot, GenFinish reason) {
  std::unique_ptr<Sequence> seq = std::move(slots_[slot]);
  --active_count_;
  GenerationResult out = std::move(seq->result);
  out.finish = reason;
  if (reason != GenFinish::kError) {
    if (const auto* terms = model_.TokenTerms(static_cast<int64_t>(slot)); terms != nullptr && !out.tokens.empty()) {
      // Positions P .. P+n-1 of the slot: the states that read the n generated tokens. The last
      // is missing only when the slot was full (max_seq_len) and could not take it.
      const size_t begin = seq->request.prompt.size();
      const size_t end = std::min(begin + out.tokens.size(), terms->size());
      if (begin < end) out.token_terms.assign(terms->begin() + begin, terms->begin() + end);
    }
    size_t len = seq->cut.value_or(seq->bytes.size());
    if (reason == GenFinish::kStopString) out.text_overflow = model::unicode::Utf8Lossy(seq->bytes.substr(len));
    out.text = model::unicode::Utf8Lossy(std::string_view(seq->bytes).substr(0, len));
  }
  return out;
}

bool Generator::Accept(Sequence& seq, TokenId token, float logprob) {
  GenerationResult& r = seq.result;
  r.tokens.push_back(token);
  r.logprobs.push_back(logprob);
  seq.feed.assign(1, token);
  const auto& stops = seq.request.stop_token_ids;
  if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
    r.stop_token = token;
    r.finish = GenFinish::kStopToken;
    return true;
  }
  auto piece = tokenizer_.DecodeBytes(std::span<const TokenId>(&token, 1));
  if (!piece.ok()) {
    r.finish = GenFinish::kError;
    r.error = "cannot decode sampled token " + std::to_string(token) + ": " + piece.status().message();
    return true;
  }
  const size_t old = seq.bytes.size();
  seq.bytes += *piece;
  if (seq.max_stop_len > 0) {
    // Only matches that end inside the new bytes are new; find the earliest-ending one.
    const size_t from = old >= seq.max_stop_len - 1 ? old - (seq.max_stop_len - 1) : 0;
    size_t best_end = std::string::npos;
    const std::string* best = nullptr;
    for (const auto& s : seq.request.stop_strings) {
      if (s.empty()) continue;
      size_t pos = seq.bytes.find(s, from);
      if (pos != std::string::npos && pos + s.size() > old && pos + s.size() < best_end) {
        best_end = pos + s.size();
        best = &s;
      }
    }
    if (best != nullptr) {
      seq.cut = best_end;
      r.matched_stop = *best;
      r.finish = GenFinish::kStopString;
      return true;
    }
  }
  if (static_cast<int64_t>(r.tokens.size()) >= seq.request.max_new_tokens) {
    r.finish = GenFinish::kLength;
    return true;
  }
  return false;
}

std::vector<GenerationResult> Generator::Step() {
  std::vector<GenerationResult> finished;
  Admit(&finished);
  if (active_count_ == 0) return finished;

  // Rows in slot order (so a full batch is the cache's slot prefix). Static fixed shape:
  // finished sequences' rows ride along until the batch is done; their outputs are not read.
  std::vector<StepRow> rows;
  std::vector<size_t> row_slot;      // real rows: their slot
  std::vector<int64_t> real_index;   // real rows: their index in `rows`
  std::vector<model::SamplingParams> params;
  std::vector<model::RequestRng*> rngs;
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    Sequence* seq = slots_[slot].get();
    if (seq == nullptr) {
      if (padding_[slot] && model_.SlotLength(static_cast<int64_t>(slot)) + 1 <= model_.max_seq_len()) {
        rows.push_back(StepRow{static_cast<int64_t>(slot), std::span<const TokenId>(&*padding_[slot], 1)});
        ++stats_.padding_rows;
      }
      continue;
    }
    real_index.push_back(static_cast<int64_t>(rows.size()));
    rows.push_back(StepRow{static_cast<int64_t>(slot), seq->feed});
    row_slot.push_back(slot);
    params.push_back(seq->request.sampling);
    rngs.push_back(&seq->rng);
    stats_.prompt_tokens += seq->result.tokens.empty() ? static_cast<int64_t>(seq->feed.size()) : 0;
  }
  ++stats_.steps;
  stats_.slot_steps += static_cast<int64_t>(row_slot.size());

  auto fail_all = [&](const std::string& why) {
    for (size_t slot : row_slot) {
      slots_[slot]->result.error = why;
      finished.push_back(Finish(slot, GenFinish::kError));
      model_.ResetSlot(static_cast<int64_t>(slot));
    }
    return finished;
  };
  auto logits = model_.Forward(rows);
  if (!logits.ok()) return fail_all("model step failed: " + logits.status().message());
  model::SampleResult sample;
  try {
    torch::Tensor real = *logits;
    if (rows.size() != row_slot.size()) {
      real = real.index_select(0, torch::tensor(real_index, torch::kInt64).to(real.device()));
    }
    // A model whose vocabulary is larger than its tokenizer's (padded embedding tables) must
    // never sample an id the tokenizer cannot decode: those logits are masked out.
    const int64_t known = tokenizer_.vocab_size();
    if (known > 0 && real.size(1) > known) {
      real = real.clone();
      real.narrow(1, known, real.size(1) - known).fill_(-std::numeric_limits<float>::infinity());
    }
    sample = model::SampleTokens(real, params, rngs);
  } catch (const c10::Error& e) {
    return fail_all(std::string("sampling failed: ") + e.what_without_backtrace());
  }
  auto tokens = sample.tokens.to(torch::kCPU).to(torch::kInt64).contiguous();
  auto logprobs = sample.logprobs.to(torch::kCPU).to(torch::kFloat32).contiguous();
  const int64_t* tok = tokens.data_ptr<int64_t>();
  const float* lp = logprobs.data_ptr<float>();
  // A finished sequence leaves its slot: parked for its session's next turn (with the keys of
  // every token the slot was fed), or as static fixed-shape padding.
  auto complete = [&](size_t slot, Sequence& seq) {
    if (!options_.continuous && options_.static_fixed_shape) padding_[slot] = seq.result.tokens.back();
    if (options_.continuous && options_.reuse_prefix && seq.request.session != 0 &&
        seq.result.finish != GenFinish::kError) {
      // The slot holds the prompt and every generated token but the last, unless it was fed.
      Parked p;
      p.session = seq.request.session;
      p.cached = seq.request.prompt;
      p.cached.insert(p.cached.end(), seq.result.tokens.begin(),
                      seq.feeding_last ? seq.result.tokens.end() : seq.result.tokens.end() - 1);
      p.since_step = stats_.steps;
      parked_[slot] = std::move(p);
    }
    finished.push_back(Finish(slot, seq.result.finish));
  };
  for (size_t i = 0; i < row_slot.size(); ++i) {
    const size_t slot = row_slot[i];
    Sequence& seq = *slots_[slot];
    if (seq.feeding_last) {  // its last token is in the slot now; this row's sample is unused
      complete(slot, seq);
      continue;
    }
    ++stats_.generated_tokens;
    bool done = Accept(seq, static_cast<TokenId>(tok[i]), lp[i]);
    const bool slot_full = model_.SlotLength(static_cast<int64_t>(slot)) + 1 > model_.max_seq_len();
    if (!done && slot_full) {
      seq.result.finish = GenFinish::kLength;  // the slot cannot take the sampled token
      done = true;
    }
    if (!done) continue;
    if (seq.result.finish != GenFinish::kError && !slot_full &&
        model_.TokenTerms(static_cast<int64_t>(slot)) != nullptr) {
      seq.feeding_last = true;  // Accept left the token in `feed`: the next step feeds it
      continue;
    }
    complete(slot, seq);
  }
  return finished;
}

std::vector<GenerationResult> Generator::RunToCompletion() {
  std::vector<GenerationResult> all;
  while (!Idle()) {
    auto part = Step();
    for (auto& r : part) all.push_back(std::move(r));
  }
  return all;
}

}  // namespace scorch::rollout
