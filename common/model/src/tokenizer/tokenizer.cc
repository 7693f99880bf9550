// Tokenizer base-class helpers and LoadTokenizer (see tokenizer.h).
#include "scorch/model/tokenizer.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "scorch/model/bpe_tokenizer.h"
#include "scorch/model/char_tokenizer.h"
#include "scorch/model/unicode.h"
#include "tokenizer_json.h"

namespace scorch::model {
namespace tokenizer_internal {

StatusOr<nlohmann::json> ParseJsonText(std::string_view text, std::string_view what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string(what) + ": not valid JSON: " + e.what());
  }
}

}  // namespace tokenizer_internal

namespace {

StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open " + path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::IoError("failed reading " + path.string());
  return buffer.str();
}

}  // namespace

StatusOr<std::string> Tokenizer::Decode(std::span<const TokenId> ids, bool skip_special_tokens) const {
  SCORCH_ASSIGN_OR_RETURN(std::string bytes, DoDecodeBytes(ids, skip_special_tokens));
  return unicode::Utf8Lossy(bytes);
}

std::vector<TokenId> Tokenizer::StopTokenIds() const {
  std::vector<TokenId> ids;
  if (special_.eos) ids.push_back(*special_.eos);
  for (const char* name : {"<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>"}) {
    if (auto id = TokenToId(name); id && IsSpecial(*id)) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Status Tokenizer::SetSpecialTokenIds(const SpecialTokenIds& ids) {
  for (const auto& id : {ids.bos, ids.eos, ids.pad, ids.unk}) {
    if (id && (*id < 0 || *id >= vocab_size() || !IdToToken(*id))) {
      return Status::OutOfRange("special token id " + std::to_string(*id) + " is not in the vocabulary (size " +
                                std::to_string(vocab_size()) + ")");
    }
  }
  special_ = ids;
  return Status::Ok();
}

StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromJson(std::string_view tokenizer_json,
                                                           std::string_view tokenizer_config_json) {
  SCORCH_ASSIGN_OR_RETURN(nlohmann::json root, tokenizer_internal::ParseJsonText(tokenizer_json, "tokenizer.json"));
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    return Status::InvalidArgument("tokenizer.json: missing \"model\" object");
  }
  const nlohmann::json& type = root["model"].contains("type") ? root["model"]["type"] : nlohmann::json("BPE");
  if (!type.is_string()) return Status::InvalidArgument("tokenizer.json: model.type is not a string");
  const std::string name = type.get<std::string>();
  if (name == "BPE") {
    SCORCH_ASSIGN_OR_RETURN(auto bpe, BpeTokenizer::FromParsedJson(root, tokenizer_config_json));
    return std::unique_ptr<Tokenizer>(std::move(bpe));
  }
  if (name == "ScorchChar") {
    SCORCH_ASSIGN_OR_RETURN(auto chars, CharTokenizer::FromParsedJson(root));
    return std::unique_ptr<Tokenizer>(std::move(chars));
  }
  return Status::Unimplemented("tokenizer.json: model.type \"" + name + "\" is not supported (BPE or ScorchChar)");
}

StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path file = path;
  if (std::filesystem::is_directory(path, ec)) file = path / "tokenizer.json";
  if (!std::filesystem::exists(file, ec)) return Status::NotFound("tokenizer file not found: " + file.string());
  SCORCH_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
  std::string config;
  const std::filesystem::path config_path = file.parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_path, ec)) {
    SCORCH_ASSIGN_OR_RETURN(config, ReadFile(config_path));
  }
  auto tokenizer = LoadTokenizerFromJson(text, config);
  if (!tokenizer.ok()) return tokenizer.status().WithContext(file.string());
  return tokenizer;
}

}  // namespace scorch::model
