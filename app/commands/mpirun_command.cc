// OpenMPI hostfiles, by-slot rank placement and the mpirun command line for `scorch submit`
// (mpirun_command.h).
#include "mpirun_command.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

namespace scorch::app {
namespace {

std::vector<std::string> SplitWhitespace(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool ParsePositive(const std::string& s, int* out) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 1) return false;
  *out = v;
  return true;
}

// Keys OpenMPI's hostfile lexer knows that do not change how many ranks a host takes.
bool IsIgnoredKey(const std::string& key) {
  static const char* kKeys[] = {"user", "username", "user_name", "user-name", "port", "boards",
                                "sockets", "sockets_per_board", "cores", "cores_per_socket"};
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

std::string Range(int first, int last) {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

}  // namespace

StatusOr<std::vector<HostfileEntry>> ParseHostfile(std::string_view text, const std::string& name) {
  std::vector<HostfileEntry> hosts;
  std::map<std::string, size_t> index;  // host -> position in `hosts`
  int line_no = 0;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string where = name + ":" + std::to_string(line_no) + ": ";
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    // "slots = 4" and "slots=4" are the same to mpirun: make '=' its own token.
    std::string spaced;
    for (char c : line) {
      if (c == '=') {
        spaced += " = ";
      } else {
        spaced.push_back(c);
      }
    }
    std::vector<std::string> tokens = SplitWhitespace(spaced);
    if (tokens.empty()) continue;
    HostfileEntry entry;
    entry.host = tokens[0];
    entry.line = line_no;
    if (entry.host == "=" || (tokens.size() > 1 && tokens[1] == "=")) return Status::InvalidArgument(where + "expected a host name first, e.g. \"node1 slots=8\"");
    for (size_t i = 1; i < tokens.size(); i += 3) {
      const std::string& key = tokens[i];
      if (i + 2 >= tokens.size()) {
        return Status::InvalidArgument(where + "expected KEY=VALUE after \"" + entry.host + "\", got \"" + key +
                                       "\" (e.g. \"" + entry.host + " slots=8\")");
      }
      if (tokens[i + 1] != "=") {
        return Status::InvalidArgument(where + "expected KEY=VALUE, got \"" + key + " " + tokens[i + 1] + "\"");
      }
      const std::string& value = tokens[i + 2];
      if (key == "slots" || key == "count" || key == "cpu") {
        if (!ParsePositive(value, &entry.slots)) {
          return Status::InvalidArgument(where + key + " must be a whole number >= 1, got \"" + value + "\"");
        }
      } else if (key == "max_slots" || key == "max-slots" || key == "slots_max" || key == "slots-max") {
        if (!ParsePositive(value, &entry.max_slots)) {
          return Status::InvalidArgument(where + key + " must be a whole number >= 1, got \"" + value + "\"");
        }
      } else if (!IsIgnoredKey(key)) {
        return Status::InvalidArgument(where + "unknown key \"" + key + "\" (expected slots=N or max_slots=M)");
      }
    }
    if (entry.max_slots > 0 && entry.slots > entry.max_slots) {
      return Status::InvalidArgument(where + "slots=" + std::to_string(entry.slots) + " is above max_slots=" +
                                     std::to_string(entry.max_slots));
    }
    auto [it, inserted] = index.emplace(entry.host, hosts.size());
    if (inserted) {
      hosts.push_back(std::move(entry));
      continue;
    }
    // mpirun merges repeated hosts: their slots add up.
    HostfileEntry& seen = hosts[it->second];
    if (seen.slots == 0 || entry.slots == 0) {
      seen.slots = 0;
    } else {
      seen.slots += entry.slots;
    }
    seen.max_slots = std::max(seen.max_slots, entry.max_slots);
  }
  if (hosts.empty()) return Status::InvalidArgument(name + ": no hosts (one per line: \"node1 slots=8\")");
  return hosts;
}

StatusOr<std::vector<HostfileEntry>> LoadHostfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read hostfile " + path);
  std::string text(std::istreambuf_iterator<char>(in), {});
  return ParseHostfile(text, path);
}

int TotalSlots(const std::vector<HostfileEntry>& hosts) {
  int total = 0;
  for (const auto& h : hosts) {
    if (h.slots == 0) return -1;
    total += h.slots;
  }
  return total;
}

std::vector<config::RankPlace> AssignRoles(const config::RolesConfig& roles) {
  std::vector<config::RankPlace> out;
  const int np = roles.total();
  out.reserve(static_cast<size_t>(std::max(np, 0)));
  for (int rank = 0; rank < np; ++rank) {
    auto place = config::PlaceOfRank(roles, rank, np);
    if (!place.ok()) break;  // only for counts ValidateJob already refuses
    out.push_back(*place);
  }
  return out;
}

std::vector<std::string> MapRanksBySlot(const std::vector<HostfileEntry>& hosts, int np) {
  if (hosts.empty() || TotalSlots(hosts) < 0) return {};
  std::vector<int> per_host(hosts.size(), 0);
  int left = np;
  for (size_t i = 0; i < hosts.size() && left > 0; ++i) {
    per_host[i] = std::min(hosts[i].slots, left);
    left -= per_host[i];
  }
  // Oversubscribed: spread what is left evenly over hosts below max_slots, first hosts first.
  while (left > 0) {
    std::vector<size_t> open;
    for (size_t i = 0; i < hosts.size(); ++i) {
      if (hosts[i].max_slots == 0 || per_host[i] < hosts[i].max_slots) open.push_back(i);
    }
    if (open.empty()) return {};
    const int each = left / static_cast<int>(open.size());
    int extra = left % static_cast<int>(open.size());
    for (size_t i : open) {
      int want = each + (extra > 0 ? 1 : 0);
      if (extra > 0) --extra;
      if (hosts[i].max_slots > 0) want = std::min(want, hosts[i].max_slots - per_host[i]);
      per_host[i] += want;
      left -= want;
    }
  }
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(np));
  for (size_t i = 0; i < hosts.size(); ++i) out.insert(out.end(), static_cast<size_t>(per_host[i]), hosts[i].host);
  return out;
}

std::vector<std::string> BuildMpirunArgv(const config::RolesConfig& roles, const MpirunOptions& o) {
  std::vector<std::string> argv = {o.mpirun, "-np", std::to_string(roles.total()),
                                   "--enable-recovery", "--mca", "orte_abort_on_non_zero_status", "0"};
  if (!o.hostfile.empty()) {
    argv.push_back("--hostfile");
    argv.push_back(o.hostfile);
  }
  if (o.oversubscribe) argv.push_back("--oversubscribe");
  if (o.as_root) argv.push_back("--allow-run-as-root");
  argv.push_back("--bind-to");
  argv.push_back("none");
  if (o.forward_token) {
    argv.push_back("-x");
    argv.push_back("SCORCH_TOKEN");
  }
  argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
  argv.push_back(o.scorch_binary);
  argv.push_back("run");
  if (!o.resume_dir.empty()) {
    argv.push_back("--resume");
    argv.push_back(o.resume_dir);
  } else {
    argv.push_back(o.job_path);
  }
  for (const auto& kv : o.overrides) {
    argv.push_back("--set");
    argv.push_back(kv);
  }
  return argv;
}

Status CheckExtraMpiArgs(const std::vector<std::string>& extra_args, int np) {
  static const char* kCountFlags[] = {"-np", "-n", "-c", "--np", "--n"};
  for (size_t i = 0; i < extra_args.size(); ++i) {
    std::string flag = extra_args[i];
    std::string value = i + 1 < extra_args.size() ? extra_args[i + 1] : "";
    if (auto eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    if (std::find(std::begin(kCountFlags), std::end(kCountFlags), flag) == std::end(kCountFlags)) continue;
    const std::string roles_say = "cluster.roles adds up to " + std::to_string(np) +
                                  " ranks (orchestrator + learner + reward + rollout)";
    if (value != std::to_string(np)) {
      return Status::InvalidArgument(flag + " " + value + " does not match the job: " + roles_say +
                                     "; change cluster.roles (e.g. --set cluster.roles.rollout=N), not -np");
    }
    return Status::InvalidArgument(flag + " is set already: " + roles_say + "; drop it from the extra mpirun arguments");
  }
  return Status::Ok();
}

std::string ShellQuote(std::string_view word) {
  if (word.empty()) return "''";
  const bool safe = std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
  });
  if (safe) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out += "'";
  return out;
}

std::string ShellJoin(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out.push_back(' ');
    out += ShellQuote(a);
  }
  return out;
}

StatusOr<std::vector<std::string>> SplitShellWords(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' || c == '"') {
      // '...' is literal; inside "...", a backslash escapes the next character (", \, $).
      size_t j = i + 1;
      for (; j < text.size() && text[j] != c; ++j) {
        if (c == '"' && text[j] == '\\' && j + 1 < text.size()) ++j;
        cur.push_back(text[j]);
      }
      if (j >= text.size()) {
        return Status::InvalidArgument(std::string("unterminated ") + c + " in \"" + std::string(text) + "\"");
      }
      i = j;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur.push_back(text[++i]);
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur.push_back(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

std::string FormatLayout(const config::RolesConfig& roles, const std::vector<std::string>& hosts) {
  const std::vector<config::RankPlace> ranks = AssignRoles(roles);
  const bool with_hosts = hosts.size() == ranks.size() && !ranks.empty();
  struct Row {
    std::string ranks, role, host;
  };
  std::vector<Row> rows;
  for (size_t r = 0; r < ranks.size();) {
    size_t end = r + 1;
    while (end < ranks.size() && ranks[end].role == ranks[r].role &&
           (!with_hosts || hosts[end] == hosts[r])) {
      ++end;
    }
    const int last = static_cast<int>(end - 1);
    std::string role = config::RankRoleName(ranks[r].role);
    if (ranks[r].role != config::RankRole::kOrchestrator) {
      role += " " + Range(ranks[r].role_rank, ranks[last].role_rank);
    }
    rows.push_back({Range(static_cast<int>(r), last), role, with_hosts ? hosts[r] : ""});
    r = end;
  }
  size_t w_rank = 4, w_role = 4;
  for (const auto& row : rows) {
    w_rank = std::max(w_rank, row.ranks.size());
    w_role = std::max(w_role, row.role.size());
  }
  auto pad = [](std::string s, size_t w) {
    s.resize(std::max(s.size(), w), ' ');
    return s;
  };
  std::string out = "  " + pad("rank", w_rank) + "   " + (with_hosts ? pad("role", w_role) + "   host" : "role") + "\n";
  for (const auto& row : rows) {
    std::string line = "  " + pad(row.ranks, w_rank) + "   " + (with_hosts ? pad(row.role, w_role) + "   " + row.host : row.role);
    out += line + "\n";
  }
  return out;
}

}  // namespace scorch::app
