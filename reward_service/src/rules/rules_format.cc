// Format checks and PCL parsing. See rules_format.h.
#include "scorch/reward/rules_format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace scorch::reward {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Earliest p ≥ from where text[p…] = close + optional '\n' + next; returns the index just
// past `next`, or npos.
size_t FindTagThen(std::string_view text, size_t from, std::string_view close,
                   std::string_view next) {
  size_t p = from;
  while (true) {
    p = text.find(close, p);
    if (p == std::string_view::npos) return p;
    size_t q = p + close.size();
    if (q < text.size() && text[q] == '\n' && text.substr(q + 1, next.size()) == next) {
      return q + 1 + next.size();
    }
    if (text.substr(q, next.size()) == next) return q + next.size();
    ++p;
  }
}

// Index just past `^<think>.*?</think>\n?<answer>.*?</answer>`, or npos.
size_t MatchThinkAnswer(std::string_view text) {
  constexpr std::string_view kThink = "<think>";
  if (text.substr(0, kThink.size()) != kThink) return std::string_view::npos;
  size_t p = FindTagThen(text, kThink.size(), "</think>", "<answer>");
  if (p == std::string_view::npos) return p;
  size_t q = text.find("</answer>", p);
  // Return the position of the closing tag: the next stage's `</answer>` search starts
  // there so that the same closing tag may be followed by <evaluation>.
  return q;
}

}  // namespace

std::string_view StripAscii(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool HasBoxedAnswer(std::string_view text) {
  // One pass with an explicit stack of open-brace positions: O(n), no recursion, so 20 000
  // unclosed `\boxed{` cost the same as one.
  std::vector<size_t> open;      // positions of unmatched '{'
  std::vector<size_t> box_open;  // '{' positions that directly follow \boxed or \fbox
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      std::string_view rest = text.substr(i + 1);
      size_t cmd = 0;
      if (rest.substr(0, 5) == "boxed") cmd = 5;
      else if (rest.substr(0, 4) == "fbox") cmd = 4;
      if (cmd > 0) {
        size_t j = i + 1 + cmd;
        if (j < text.size() && text[j] == '{') {
          box_open.push_back(j);
        } else if (j < text.size() && text[j] == ' ') {
          // `\boxed X`: an answer when a non-space, non-$ character follows.
          size_t k = j;
          while (k < text.size() && text[k] == ' ') ++k;
          if (k < text.size() && text[k] != '$' && text[k] != '{' && !IsSpace(text[k])) return true;
        }
        i = j - 1;
        continue;
      }
      continue;
    }
    if (c == '{') {
      open.push_back(i);
    } else if (c == '}' && !open.empty()) {
      size_t o = open.back();
      open.pop_back();
      if (!box_open.empty() && box_open.back() == o) return true;
    }
  }
  return false;
}

bool PclFormatMatch(std::string_view text) {
  return MatchThinkAnswer(text) != std::string_view::npos;
}

bool PclFormatAllMatch(std::string_view text) {
  size_t q = MatchThinkAnswer(text);
  if (q == std::string_view::npos) return false;
  size_t r = FindTagThen(text, q, "</answer>", "<evaluation>");
  if (r == std::string_view::npos) return false;
  size_t s = FindTagThen(text, r, "</evaluation>", "<reward>");
  if (s == std::string_view::npos) return false;
  return text.find("</reward>", s) != std::string_view::npos;
}

std::optional<std::string> FirstPclAnswer(std::string_view text) {
  constexpr std::string_view kOpen = "<answer>";
  size_t a = text.find(kOpen);
  if (a == std::string_view::npos) return std::nullopt;
  size_t b = text.find("</answer>", a + kOpen.size());
  if (b == std::string_view::npos) return std::nullopt;
  return std::string(StripAscii(text.substr(a + kOpen.size(), b - a - kOpen.size())));
}

std::optional<std::vector<double>> ParseLastRewardList(std::string_view text) {
  constexpr std::string_view kOpen = "<reward>", kClose = "</reward>";
  size_t close = text.rfind(kClose);
  if (close == std::string_view::npos) return std::nullopt;
  size_t open = text.rfind(kOpen, close);
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view body = StripAscii(text.substr(open + kOpen.size(), close - open - kOpen.size()));
  if (body.size() < 2 || body.front() != '[' || body.back() != ']') return std::nullopt;
  body = StripAscii(body.substr(1, body.size() - 2));
  std::vector<double> out;
  if (body.empty()) return out;
  while (true) {
    size_t comma = body.find(',');
    std::string_view item = StripAscii(body.substr(0, comma));
    if (!item.empty() && item.front() == '+') item.remove_prefix(1);
    if (item.empty()) return std::nullopt;
    double v = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || ptr != item.data() + item.size() || !std::isfinite(v)) {
      return std::nullopt;
    }
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    body = body.substr(comma + 1);
    if (out.size() > 64) return std::nullopt;  // nobody scores 64 criteria; refuse junk
  }
  return out;
}

double PclConsistency(const std::vector<double>& g, const std::optional<std::vector<double>>& p) {
  if (!p || p->size() != g.size() || g.empty()) return 0.0;
  double sum = 0.0;
  for (size_t k = 0; k < g.size(); ++k) {
    double pk = (*p)[k], gk = g[k];
    if (pk < 0) return 0.0;
    double m = std::max(gk, pk);
    if (m == 0.0) continue;  // g_k = p_k = 0: both sides agree (ALGORITHMS §8.6 policy)
    sum += std::fabs(gk - pk) / m;
  }
  return 1.0 - sum / static_cast<double>(g.size());
}

}  // namespace scorch::reward
