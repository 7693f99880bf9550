#include "scorch/orchestrator/dataset.h"

#include <fstream>
#include <numeric>
#include <random>
#include <unordered_set>

namespace scorch::orchestrator {
namespace {

class VectorDataset final : public PromptDataset {
 public:
  explicit VectorDataset(std::vector<Prompt> prompts) : prompts_(std::move(prompts)) {}
  int64_t size() const override { return static_cast<int64_t>(prompts_.size()); }
  Prompt Get(int64_t index) const override { return prompts_.at(static_cast<size_t>(index)); }

 private:
  std::vector<Prompt> prompts_;
};

class SyntheticDataset final : public PromptDataset {
 public:
  SyntheticDataset(std::shared_ptr<const SyntheticTask> task, Split split, int64_t size)
      : task_(std::move(task)), split_(split), size_(size) {}
  int64_t size() const override { return size_; }
  Prompt Get(int64_t index) const override { return task_->Get(split_, index); }

 private:
  std::shared_ptr<const SyntheticTask> task_;
  Split split_;
  int64_t size_;
};

// Parses one line into a prompt, or says what is wrong with it.
StatusOr<Prompt> ParseLine(const std::string& line, int64_t line_no) {
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("expected a JSON object");
  Prompt p;
  auto get_text = [&](const char* key, std::string* out, bool required) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      return required ? Status::InvalidArgument(std::string("missing \"") + key + "\"")
                      : Status::Ok();
    }
    if (it->is_string()) {
      *out = it->get<std::string>();
    } else if (it->is_number()) {
      *out = it->dump();  // numeric answers like 42 or 0.5 are fine as their JSON text
    } else {
      return Status::InvalidArgument(std::string("\"") + key + "\" must be a string or number");
    }
    return Status::Ok();
  };
  SCORCH_RETURN_IF_ERROR(get_text("problem", &p.problem, true));
  SCORCH_RETURN_IF_ERROR(get_text("answer", &p.answer, true));
  SCORCH_RETURN_IF_ERROR(get_text("solution", &p.solution, false));
  SCORCH_RETURN_IF_ERROR(get_text("id", &p.id, false));
  if (p.id.empty()) p.id = "line-" + std::to_string(line_no);
  if (p.problem.empty()) return Status::InvalidArgument("\"problem\" is empty");
  return p;
}

}  // namespace

StatusOr<std::unique_ptr<PromptDataset>> LoadJsonlDataset(const std::filesystem::path& path,
                                                          const JsonlOptions& options,
                                                          JsonlLoadReport* report) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open dataset " + path.string());
  JsonlLoadReport local;
  JsonlLoadReport& r = report ? *report : local;
  r = JsonlLoadReport{};
  std::vector<Prompt> prompts;
  std::unordered_set<std::string> ids;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    ++r.lines;
    StatusOr<Prompt> prompt = line.size() > options.max_line_bytes
                                  ? StatusOr<Prompt>(Status::InvalidArgument(
                                        "line is " + std::to_string(line.size()) +
                                        " bytes; the limit is " +
                                        std::to_string(options.max_line_bytes)))
                                  : ParseLine(line, line_no);
    if (prompt.ok() && !ids.insert(prompt->id).second) {
      prompt = Status::InvalidArgument("duplicate id \"" + prompt->id + "\"");
    }
    if (!prompt.ok()) {
      std::string where = path.string() + ":" + std::to_string(line_no) + ": ";
      if (!options.skip_bad_lines) {
        return Status::InvalidArgument(where + prompt.status().message());
      }
      ++r.skipped;
      if (r.first_errors.size() < 10) r.first_errors.push_back(where + prompt.status().message());
      continue;
    }
    prompts.push_back(std::move(prompt).value());
  }
  if (in.bad()) return Status::IoError("error reading " + path.string());
  r.loaded = static_cast<int64_t>(prompts.size());
  if (prompts.empty()) {
    return Status::InvalidArgument("dataset " + path.string() + " has no usable prompts (" +
                                   std::to_string(r.skipped) + " bad lines)");
  }
  return std::unique_ptr<PromptDataset>(new VectorDataset(std::move(prompts)));
}

std::unique_ptr<PromptDataset> MakeSyntheticDataset(std::shared_ptr<const SyntheticTask> task,
                                                    Split split, int64_t size) {
  return std::make_unique<SyntheticDataset>(std::move(task), split, size);
}

PromptCursor::PromptCursor(int64_t size, uint64_t seed, bool shuffle, State state)
    : size_(size), seed_(seed), shuffle_(shuffle), state_(state) {
  BuildOrder();
}

void PromptCursor::BuildOrder() {
  order_.resize(static_cast<size_t>(size_));
  std::iota(order_.begin(), order_.end(), 0);
  if (!shuffle_) return;
  // std::mt19937_64's output sequence is fixed by the standard, so the order is the same
  // on every platform; the distribution is done by hand for the same reason.
  std::mt19937_64 rng(seed_ ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(state_.epoch + 1)));
  for (int64_t i = size_ - 1; i > 0; --i) {
    uint64_t j = rng() % static_cast<uint64_t>(i + 1);
    std::swap(order_[static_cast<size_t>(i)], order_[j]);
  }
}

int64_t PromptCursor::Next() {
  if (state_.position >= size_) {
    ++state_.epoch;
    state_.position = 0;
    BuildOrder();
  }
  return order_[static_cast<size_t>(state_.position++)];
}

nlohmann::json PromptCursor::ToJson() const {
  return {{"epoch", state_.epoch}, {"position", state_.position}};
}

StatusOr<PromptCursor::State> PromptCursor::StateFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("epoch") || !j["epoch"].is_number_integer() ||
      !j.contains("position") || !j["position"].is_number_integer()) {
    return Status::DataLoss("prompt cursor state needs integer \"epoch\" and \"position\": " +
                            j.dump());
  }
  State s{j["epoch"].get<int64_t>(), j["position"].get<int64_t>()};
  if (s.epoch < 0 || s.position < 0) return Status::DataLoss("negative prompt cursor state");
  return s;
}

}  // namespace scorch::orchestrator
