// Helpers shared by the rollout tests: the default character tokenizer and scripts for the
// ScriptedStepModel keyed on the decoded prompt text.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "scorch/model/char_tokenizer.h"
#include "scorch/rollout/scripted_step_model.h"

namespace scorch::rollout::testing {

inline std::vector<TokenId> Enc(const model::Tokenizer& tok, const std::string& text) {
  auto ids = tok.Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<TokenId>{};
}

inline std::string Dec(const model::Tokenizer& tok, std::span<const TokenId> ids) {
  auto s = tok.Decode(ids);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : std::string();
}

// Rules (prompt suffix -> response text): the longest suffix of the decoded prompt that
// matches a rule wins; no match = empty plan (the model's fallback applies).
inline ScriptedStepModel::Script SuffixScript(const model::Tokenizer& tok,
                                              std::vector<std::pair<std::string, std::string>> rules) {
  return [&tok, rules = std::move(rules)](std::span<const TokenId> prompt) {
    const std::string text = Dec(tok, prompt);
    const std::pair<std::string, std::string>* best = nullptr;
    for (const auto& r : rules) {
      if (text.size() >= r.first.size() && text.compare(text.size() - r.first.size(), r.first.size(), r.first) == 0 &&
          (best == nullptr || r.first.size() > best->first.size())) {
        best = &r;
      }
    }
    return best ? Enc(tok, best->second) : std::vector<TokenId>{};
  };
}

}  // namespace scorch::rollout::testing
