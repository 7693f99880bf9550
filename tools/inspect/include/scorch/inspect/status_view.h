// `scorch status HOST:PORT`: the orchestrator's /status JSON made readable in a terminal.
//
// The document's shape is the job loop's to choose; this renderer is generic so new fields
// show up without a change here: top-level scalars first ("stage: grpo"), then each array of
// objects as a table (e.g. workers with their leases and last heartbeat), then each object as
// an indented "key value" section (nested objects flattened with '.', e.g. queue depths, last
// metrics). Pure function; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace scorch::inspect {

std::string FormatStatusText(const nlohmann::json& status);

}  // namespace scorch::inspect
