// Generic terminal rendering of the /status document. See status_view.h.
#include "scorch/inspect/status_view.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "scorch/inspect/run_report.h"

namespace scorch::inspect {
namespace {

using nlohmann::json;

std::string Scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return FormatNumber(v.get<double>());
  if (v.is_null()) return "-";
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void Flatten(const json& obj, const std::string& prefix, std::vector<std::pair<std::string, std::string>>* out) {
  for (const auto& [k, v] : obj.items()) {
    const std::string key = prefix.empty() ? k : prefix + "." + k;
    if (v.is_object() && !v.empty()) {
      Flatten(v, key, out);
    } else {
      out->emplace_back(key, Scalar(v));
    }
  }
}

void Table(const json& rows, std::ostringstream& out) {
  // Identifying columns first; the rest in the document's (sorted) key order.
  std::vector<std::string> cols;
  for (const char* id : {"id", "name", "role", "rank"}) {
    if (std::any_of(rows.begin(), rows.end(), [&](const json& r) { return r.is_object() && r.contains(id); })) {
      cols.push_back(id);
    }
  }
  for (const auto& r : rows) {
    if (!r.is_object()) continue;
    for (const auto& [k, v] : r.items()) {
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
    }
  }
  std::vector<std::vector<std::string>> cells = {cols};
  for (const auto& r : rows) {
    std::vector<std::string> line;
    for (const auto& c : cols) line.push_back(r.is_object() && r.contains(c) ? Scalar(r[c]) : "-");
    cells.push_back(line);
  }
  std::vector<size_t> w(cols.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) w[i] = std::max(w[i], Width(line[i]));
  }
  for (const auto& line : cells) {
    std::string s = "  ";
    for (size_t i = 0; i < line.size(); ++i) {
      s += line[i];
      if (i + 1 < line.size()) s.append(w[i] - Width(line[i]) + 2, ' ');
    }
    out << s << "\n";
  }
}

}  // namespace

std::string FormatStatusText(const json& status) {
  std::ostringstream out;
  if (!status.is_object()) {
    out << Scalar(status) << "\n";
    return out.str();
  }
  std::vector<std::pair<std::string, std::string>> scalars;
  for (const auto& [k, v] : status.items()) {
    if (!v.is_object() && !(v.is_array() && !v.empty() && v[0].is_object())) {
      scalars.emplace_back(k, v.is_array() ? v.dump() : Scalar(v));
    }
  }
  size_t kw = 0;
  for (const auto& [k, v] : scalars) kw = std::max(kw, Width(k));
  for (const auto& [k, v] : scalars) out << k << ":" << std::string(kw - Width(k) + 1, ' ') << v << "\n";
  for (const auto& [k, v] : status.items()) {
    if (v.is_array() && !v.empty() && v[0].is_object()) {
      out << "\n" << k << " (" << v.size() << "):\n";
      Table(v, out);
    }
  }
  for (const auto& [k, v] : status.items()) {
    if (!v.is_object()) continue;
    out << "\n" << k << ":\n";
    std::vector<std::pair<std::string, std::string>> flat;
    Flatten(v, "", &flat);
    if (flat.empty()) out << "  (empty)\n";
    size_t w = 0;
    for (const auto& [fk, fv] : flat) w = std::max(w, Width(fk));
    for (const auto& [fk, fv] : flat) out << "  " << fk << std::string(w - Width(fk) + 2, ' ') << fv << "\n";
  }
  return out.str();
}

}  // namespace scorch::inspect
