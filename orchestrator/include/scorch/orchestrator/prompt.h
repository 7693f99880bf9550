// A prompt of a stage's dataset: the problem text and its reference answer.
#pragma once

#include <cstdint>
#include <string>

namespace scorch::orchestrator {

struct Prompt {
  std::string id;        // stable identifier from the dataset ("synthetic-000042", or JSONL id)
  std::string problem;   // the problem text, before any chat template
  std::string answer;    // the reference final answer (what the grader compares against)
  std::string solution;  // optional worked solution (SFT targets); may be empty
};

}  // namespace scorch::orchestrator
