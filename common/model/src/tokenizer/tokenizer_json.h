// Private: JSON parsing shared by the tokenizer loaders; converts nlohmann's exceptions into
// InvalidArgument naming the file kind (`what`).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "scorch/common/status.h"

namespace scorch::model::tokenizer_internal {

StatusOr<nlohmann::json> ParseJsonText(std::string_view text, std::string_view what);

}  // namespace scorch::model::tokenizer_internal
