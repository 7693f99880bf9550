// `scorch config check FILE [--set a.b=v ...] [--quiet]`: validate a job config and print it
// resolved (every field, defaults included, with comments). Exit status 1 on any problem,
// with one line per problem naming the key path and file:line:column.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "scorch/common/config/run_config.h"

namespace scorch::app {

void RegisterConfigCommands(CLI::App& app) {
  auto* config = app.add_subcommand("config", "Validate and print job configs");
  config->require_subcommand(1);
  auto* check = config->add_subcommand(
      "check", "Validate a job config (types, ranges, unknown keys) and print it resolved");
  auto file = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  check->add_option("file", *file, "Job config (YAML)")->required();
  check->add_option("--set", *sets, "Override a key: --set stages.0.steps=5 (repeatable)");
  check->add_flag("-q,--quiet", *quiet, "Print nothing when the config is valid");
  check->callback([file, sets, quiet] {
    auto config = config::LoadRunConfig(*file, *sets);
    if (!config.ok()) {
      std::fprintf(stderr, "%s: invalid config:\n%s\n", file->c_str(),
                   config.status().message().c_str());
      throw CommandExit{1};
    }
    if (!*quiet) std::fputs(config::ResolvedConfigYaml(*config).c_str(), stdout);
  });
}

}  // namespace scorch::app
