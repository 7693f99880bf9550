// Answer extraction (ALGORITHMS §9.1). See extract.h. Every scan here is linear.
#include "scorch/reward/extract.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace scorch::reward {
namespace {

bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// match[i] = index of the brace closing the '{' at i (or npos), computed in one pass.
std::vector<size_t> MatchBraces(std::string_view t) {
  std::vector<size_t> match(t.size(), std::string_view::npos);
  std::vector<size_t> stack;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\\' && i + 1 < t.size() && (t[i + 1] == '{' || t[i + 1] == '}')) {
      ++i;  // \{ and \} are set braces, not groups
      continue;
    }
    if (c == '{') {
      stack.push_back(i);
    } else if (c == '}' && !stack.empty()) {
      match[stack.back()] = i;
      stack.pop_back();
    }
  }
  return match;
}

struct Box {
  size_t start = 0;  // position of the backslash
  size_t end = 0;    // one past the box
  std::string_view content;
};

std::vector<Box> FindBoxes(std::string_view t) {
  std::vector<Box> boxes;
  std::vector<size_t> match;
  bool matched = false;
  size_t pos = 0;
  size_t b = 0, f = 0;  // next candidates, recomputed only once passed (keeps this linear)
  bool b_valid = false, f_valid = false;
  while (true) {
    if (!b_valid || (b != std::string_view::npos && b < pos)) {
      b = t.find("\\boxed", pos);
      b_valid = true;
    }
    if (!f_valid || (f != std::string_view::npos && f < pos)) {
      f = t.find("\\fbox", pos);
      f_valid = true;
    }
    size_t at = std::min(b, f);
    if (at == std::string_view::npos) break;
    size_t name_len = (at == b) ? 6 : 5;
    size_t i = at + name_len;
    pos = i;
    if (i < t.size() && IsAlpha(t[i])) continue;  // \boxedfoo is another command
    size_t j = i;
    while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
    if (j < t.size() && t[j] == '{') {
      if (!matched) {
        match = MatchBraces(t);
        matched = true;
      }
      size_t close = match[j];
      Box box;
      box.start = at;
      if (close == std::string_view::npos) {
        box.content = t.substr(j + 1);
        box.end = t.size();
      } else {
        box.content = t.substr(j + 1, close - j - 1);
        box.end = close + 1;
      }
      pos = box.end > j + 1 ? j + 1 : box.end;
      boxes.push_back(std::move(box));
    } else if (j > i && j < t.size()) {
      // `\boxed X`: up to the next `$` or end of line.
      size_t k = j;
      while (k < t.size() && t[k] != '$' && t[k] != '\n') ++k;
      Box box{at, k, Trim(t.substr(j, k - j))};
      if (!box.content.empty()) boxes.push_back(std::move(box));
      pos = k;
    }
  }
  // Boxes nested in an earlier box are part of it; keep only outermost ones.
  std::vector<Box> outer;
  for (auto& box : boxes) {
    if (!outer.empty() && box.start < outer.back().end) continue;
    outer.push_back(std::move(box));
  }
  return outer;
}

constexpr size_t kMaxGroup = 256;  // most answers one list may collect

const char* const kConnectorWords[] = {"and", "or", "und", "et", "y"};

bool IsConnectorWord(std::string_view w) {
  std::string l = Lower(w);
  for (const char* c : kConnectorWords) {
    if (l == c) return true;
  }
  return false;
}

// Words of a gap: alphabetic runs of 2+ letters not preceded by a backslash.
std::vector<std::string> GapWords(std::string_view gap) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < gap.size()) {
    unsigned char c = static_cast<unsigned char>(gap[i]);
    if (IsAlpha(gap[i])) {
      size_t j = i;
      while (j < gap.size() && IsAlpha(gap[j])) ++j;
      bool command = i > 0 && gap[i - 1] == '\\';
      if (!command && j - i >= 2) words.emplace_back(gap.substr(i, j - i));
      i = j;
    } else if (c >= 0x80) {
      size_t j = i;
      while (j < gap.size() && static_cast<unsigned char>(gap[j]) >= 0x80) ++j;
      words.emplace_back(gap.substr(i, j - i));
      i = j;
    } else {
      ++i;
    }
  }
  return words;
}

// Two answers separated by `gap` belong to one list answer.
bool IsConnectorGap(std::string_view gap) {
  if (gap.size() > 120) return false;
  std::vector<std::string> words = GapWords(gap);
  std::vector<std::string> kept;
  for (auto& w : words) {
    std::string l = Lower(w);
    if (l == "text" || l == "quad" || l == "qquad" || l == "mbox") continue;
    kept.push_back(l);
  }
  if (kept.empty()) return true;
  return kept.size() <= 4 && IsConnectorWord(kept.back());
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  return out;
}

// A math span or a bare number found in a response.
struct Item {
  size_t start = 0;
  size_t end = 0;
  std::string text;
  bool is_span = false;
};

// All math spans ($..$, $$..$$, \(..\), \[..\], matrix environments). Closers are looked
// up by binary search in precomputed position lists, so the scan is O(n log n) whatever the
// input.
std::vector<Item> FindSpans(std::string_view t) {
  std::vector<Item> spans;
  const size_t n = t.size();
  std::vector<size_t> closers[2];  // positions of \) and \]
  std::vector<size_t> newlines;
  for (size_t k = 0; k < n; ++k) {
    if (t[k] == '\n') newlines.push_back(k);
    if (t[k] == '\\' && k + 1 < n) {
      if (t[k + 1] == ')') closers[0].push_back(k);
      if (t[k + 1] == ']') closers[1].push_back(k);
      ++k;
    }
  }
  auto next_at_or_after = [](const std::vector<size_t>& v, size_t pos) {
    auto it = std::lower_bound(v.begin(), v.end(), pos);
    return it == v.end() ? std::string_view::npos : *it;
  };
  std::vector<std::string> missing_envs;
  size_t i = 0;
  while (i < n) {
    char c = t[i];
    if (c == '\\' && i + 1 < n) {
      char d = t[i + 1];
      if (d == '(' || d == '[') {
        bool inline_span = d == '(';
        size_t j = next_at_or_after(closers[inline_span ? 0 : 1], i + 2);
        if (j != std::string_view::npos) {
          bool crosses = inline_span && next_at_or_after(newlines, i + 2) < j;
          if (!crosses) {
            spans.push_back({i, j + 2, std::string(t.substr(i + 2, j - i - 2)), true});
            i = j + 2;
            continue;
          }
        }
        i += 2;
        continue;
      }
      if (t.compare(i, 7, "\\begin{") == 0) {
        size_t name_end = t.find('}', i + 7);
        if (name_end != std::string_view::npos && name_end - i < 40) {
          std::string name(t.substr(i + 7, name_end - i - 7));
          bool missing = std::find(missing_envs.begin(), missing_envs.end(), name) != missing_envs.end();
          if (!missing && (name.find("matrix") != std::string::npos || name == "array")) {
            std::string end_tag = "\\end{" + name + "}";
            size_t j = t.find(end_tag, name_end);
            if (j != std::string_view::npos) {
              spans.push_back({i, j + end_tag.size(), std::string(t.substr(i, j + end_tag.size() - i)), true});
              i = j + end_tag.size();
              continue;
            }
            missing_envs.push_back(name);
          }
        }
      }
      i += 2;
      continue;
    }
    if (c == '$') {
      bool display = i + 1 < n && t[i + 1] == '$';
      size_t open_len = display ? 2 : 1;
      size_t j = i + open_len;
      bool closed = false;
      while (j < n) {
        if (t[j] == '\\' && j + 1 < n) {
          j += 2;
          continue;
        }
        if (t[j] == '\n' && !display) break;
        if (t[j] == '$') {
          closed = true;
          break;
        }
        ++j;
      }
      if (closed) {
        size_t close_len = (display && j + 1 < n && t[j + 1] == '$') ? 2 : 1;
        std::string_view body = Trim(t.substr(i + open_len, j - i - open_len));
        if (!body.empty()) spans.push_back({i, j + close_len, std::string(body), true});
        i = j + close_len;
      } else if (j >= n) {
        i += open_len;  // no `$` anywhere after, so this rescan happens once
      } else {
        i = j;  // an inline span may not cross a newline
      }
      continue;
    }
    ++i;
  }
  return spans;
}

// Length of a number starting at t[i] (digits with separators, decimal part, /denominator,
// trailing %), or 0.
size_t NumberLength(std::string_view t, size_t i) {
  size_t j = i;
  const size_t n = t.size();
  if (j < n && t[j] == '-') ++j;
  if (j >= n || !IsDigit(t[j])) return 0;
  while (j < n && IsDigit(t[j])) ++j;
  while (true) {  // thousands groups
    size_t k = j;
    if (k < n && t[k] == ',') {
      ++k;
    } else if (t.compare(k, 3, "{,}") == 0) {
      k += 3;
    } else if (t.compare(k, 2, "\\,") == 0 || t.compare(k, 2, "\\!") == 0) {
      k += 2;
      if (t.compare(k, 1, ",") == 0) ++k;
    } else {
      break;
    }
    size_t d = k;
    while (d < n && IsDigit(t[d])) ++d;
    if (d - k == 3) {
      j = d;
    } else if (t[j] == ',' && d - k >= 1 && d - k != 3 && (d >= n || !IsDigit(t[d]))) {
      j = d;  // decimal comma `2,74`
      break;
    } else {
      break;
    }
  }
  if (j + 1 < n && t[j] == '.' && IsDigit(t[j + 1])) {
    ++j;
    while (j < n && IsDigit(t[j])) ++j;
  }
  if (j + 1 < n && t[j] == '/' && IsDigit(t[j + 1])) {
    ++j;
    while (j < n && IsDigit(t[j])) ++j;
  }
  if (j < n && t[j] == '%') ++j;
  return j - i;
}

// Bare numbers (and \frac{int}{int}) outside math spans.
std::vector<Item> FindNumbers(std::string_view t) {
  std::vector<Item> out;
  size_t i = 0;
  const size_t n = t.size();
  while (i < n) {
    if (t[i] == '\\' && (t.compare(i, 6, "\\frac{") == 0 || t.compare(i, 7, "\\dfrac{") == 0)) {
      size_t open = t.find('{', i);
      size_t a_end = open + 1;
      while (a_end < n && IsDigit(t[a_end])) ++a_end;
      if (a_end > open + 1 && t.compare(a_end, 2, "}{") == 0) {
        size_t b_end = a_end + 2;
        while (b_end < n && IsDigit(t[b_end])) ++b_end;
        if (b_end > a_end + 2 && b_end < n && t[b_end] == '}') {
          out.push_back({i, b_end + 1, std::string(t.substr(i, b_end + 1 - i)), false});
          i = b_end + 1;
          continue;
        }
      }
      i = open + 1;
      continue;
    }
    bool starts = IsDigit(t[i]) || (t[i] == '-' && i + 1 < n && IsDigit(t[i + 1]));
    bool boundary = starts && (i == 0 || !(IsAlpha(t[i - 1]) || IsDigit(t[i - 1]) || t[i - 1] == '.' ||
                                           t[i - 1] == '_' || t[i - 1] == '^'));
    if (boundary) {
      size_t len = NumberLength(t, i);
      if (len > 0) {
        out.push_back({i, i + len, std::string(t.substr(i, len)), false});
        i += len;
        continue;
      }
    }
    if (t[i] == '.' && i + 1 < n && IsDigit(t[i + 1]) && (i == 0 || IsSpace(t[i - 1]))) {
      size_t j = i + 1;
      while (j < n && IsDigit(t[j])) ++j;
      out.push_back({i, j, "0" + std::string(t.substr(i, j - i)), false});
      i = j;
      continue;
    }
    ++i;
  }
  return out;
}

bool HasDigit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return IsDigit(c); });
}

// Combines the last item with the items before it that are joined by connectors.
std::string CombineTail(std::string_view t, const std::vector<Item>& items, size_t last) {
  std::vector<std::string> group{items[last].text};
  size_t k = last;
  while (k > 0 && items[k - 1].is_span == items[last].is_span && group.size() < kMaxGroup) {
    std::string_view gap = t.substr(items[k - 1].end, items[k].start - items[k - 1].end);
    if (!IsConnectorGap(gap)) break;
    group.push_back(items[k - 1].text);
    --k;
  }
  std::reverse(group.begin(), group.end());
  return group.size() == 1 ? group[0] : JoinList(group);
}

// Reduces prose to an answer: the first (or last) number-bearing span or bare number.
std::string ResolveProse(std::string_view text, bool first) {
  if (!IsWordy(text)) return std::string(Trim(text));
  std::vector<Item> items = FindSpans(text);
  items.erase(std::remove_if(items.begin(), items.end(), [](const Item& it) { return !HasDigit(it.text); }),
              items.end());
  // Numbers outside spans.
  std::vector<Item> numbers = FindNumbers(text);
  for (auto& num : numbers) {
    bool inside = std::any_of(items.begin(), items.end(),
                              [&](const Item& s) { return num.start >= s.start && num.start < s.end; });
    if (!inside) items.push_back(num);
  }
  if (items.empty()) return "";
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.start < b.start; });
  return first ? items.front().text : items.back().text;
}

// Last occurrence of `needle` (Boyer-Moore-Horspool forward scan: sublinear, unlike the
// naive std::string::rfind, which costs a memcmp per position).
size_t LastOccurrence(std::string_view hay, std::string_view needle) {
  std::boyer_moore_horspool_searcher searcher(needle.begin(), needle.end());
  size_t last = std::string_view::npos;
  auto it = hay.begin();
  while (true) {
    auto found = std::search(it, hay.end(), searcher);
    if (found == hay.end()) break;
    last = static_cast<size_t>(found - hay.begin());
    it = found + 1;
  }
  return last;
}

// Text after the last occurrence of `marker` up to the end of its sentence.
bool CaptureAfterMarker(std::string_view t, std::string_view lower, std::string_view marker,
                        std::string* out) {
  size_t at = LastOccurrence(lower, marker);
  if (at == std::string_view::npos) return false;
  size_t i = at + marker.size();
  size_t j = i;
  bool in_dollar = false;
  const size_t limit = std::min(t.size(), i + 400);
  while (j < limit) {
    char c = t[j];
    if (c == '\\' && j + 1 < limit && t[j + 1] == '$') {
      j += 2;
      continue;
    }
    if (c == '$') in_dollar = !in_dollar;
    if (!in_dollar) {
      if (c == '\n') break;
      if (c == '.' && (j + 1 >= t.size() || IsSpace(t[j + 1]) || t[j + 1] == '<')) break;
      if (t.compare(j, 3, "\xE3\x80\x82") == 0) break;  // 。
    }
    ++j;
  }
  std::string_view capture = Trim(t.substr(i, j - i));
  while (!capture.empty() && (capture.front() == ':' || capture.front() == '"')) capture = Trim(capture.substr(1));
  if (capture.empty()) return false;
  *out = ResolveProse(capture, /*first=*/true);
  return !out->empty();
}

const char* const kKnownCommands[] = {
    "boxed", "fbox", "frac", "dfrac", "tfrac", "cfrac", "sqrt", "left", "right", "text", "textbf",
    "mathrm", "mathbf", "pi", "le", "ge", "leq", "geq", "neq", "cdot", "times", "infty", "cup",
    "cap", "in", "pm", "mp", "approx", "sin", "cos", "tan", "log", "ln", "quad", "qquad", "circ",
    "begin", "end", "mbox", "lt", "gt"};

}  // namespace

std::string CollapseDoubleEscapes(std::string_view text) {
  if (text.find("\\\\") == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\\' && i + 2 < text.size() && text[i + 1] == '\\' && IsAlpha(text[i + 2]) &&
        (i == 0 || text[i - 1] != '\\')) {
      size_t j = i + 2;
      while (j < text.size() && IsAlpha(text[j])) ++j;
      std::string_view name = text.substr(i + 2, j - i - 2);
      bool known = false;
      for (const char* k : kKnownCommands) {
        if (name == k) {
          known = true;
          break;
        }
      }
      if (known) {
        out += '\\';
        out.append(name);
        i = j;
        continue;
      }
      out.append(text.substr(i, j - i));
      i = j;
      continue;
    }
    out += text[i++];
  }
  return out;
}

bool IsWordy(std::string_view text) {
  std::vector<std::string> words = GapWords(text);
  int count = 0;
  for (auto& w : words) {
    std::string l = Lower(w);
    if (IsConnectorWord(l) || l == "text" || l == "mathrm" || l == "begin" || l == "end" ||
        l.find("matrix") != std::string::npos || l == "array") {
      continue;
    }
    ++count;
  }
  return count >= 2;
}

std::vector<std::string> FinalBoxedGroup(std::string_view text) {
  std::vector<Box> boxes = FindBoxes(text);
  while (!boxes.empty() && Trim(boxes.back().content).empty()) boxes.pop_back();
  if (boxes.empty()) return {};
  std::vector<std::string> group{std::string(boxes.back().content)};
  for (size_t k = boxes.size() - 1; k > 0 && group.size() < kMaxGroup; --k) {
    std::string_view gap = text.substr(boxes[k - 1].end, boxes[k].start - boxes[k - 1].end);
    if (!IsConnectorGap(gap) || Trim(boxes[k - 1].content).empty()) break;
    group.push_back(std::string(boxes[k - 1].content));
  }
  std::reverse(group.begin(), group.end());
  return group;
}

Extraction ExtractAnswer(std::string_view response, const GraderOptions& options) {
  Extraction result;
  if (static_cast<int64_t>(response.size()) > options.max_response_bytes) return result;
  std::string text = CollapseDoubleEscapes(response);
  std::string_view t = text;

  std::vector<std::string> boxed = FinalBoxedGroup(t);
  if (!boxed.empty()) {
    result.found = true;
    result.answer = boxed.size() == 1 ? boxed[0] : JoinList(boxed);
    result.method = "boxed";
    return result;
  }
  if (options.strict) return result;

  if (options.fallback_answer_markers) {
    std::string lower = Lower(t);
    struct Marker {
      const char* text;
      const char* method;
    };
    static const Marker kMarkers[] = {
        {"final answer is", "final_answer_is"}, {"the answer is", "answer_is"},
        {"answer is", "answer_marker"},         {"final answer:", "answer_marker"},
        {"answer:", "answer_marker"},           {"r\xC3\xA9ponse est", "answer_marker"},
        {"r\xC3\xA9ponse :", "answer_marker"},  {"r\xC3\xA9ponse:", "answer_marker"},
        {"\xE7\xAD\x94\xE6\xA1\x88\xE6\x98\xAF", "answer_marker"},  // 答案是
        {"\xE7\xAD\x94\xE6\xA1\x88\xEF\xBC\x9A", "answer_marker"},  // 答案：
    };
    for (const Marker& m : kMarkers) {
      std::string captured;
      if (CaptureAfterMarker(t, lower, m.text, &captured)) {
        result.found = true;
        result.answer = std::move(captured);
        result.method = m.method;
        return result;
      }
    }
  }

  std::vector<Item> spans;
  if (options.fallback_math_span) spans = FindSpans(t);
  std::vector<Item> numbers;
  if (options.fallback_last_number) {
    for (Item& num : FindNumbers(t)) {
      // Numbers inside spans belong to the span.
      auto it = std::upper_bound(spans.begin(), spans.end(), num.start,
                                 [](size_t pos, const Item& s) { return pos < s.start; });
      if (it != spans.begin() && num.start < std::prev(it)->end) continue;
      numbers.push_back(std::move(num));
    }
  }
  const Item* last_span = spans.empty() ? nullptr : &spans.back();
  const Item* last_number = numbers.empty() ? nullptr : &numbers.back();
  if (last_span && (!last_number || last_span->end >= last_number->end)) {
    for (Item& s : spans) {
      if (IsWordy(s.text)) s.text = ResolveProse(s.text, /*first=*/false);
    }
    std::string answer = CombineTail(t, spans, spans.size() - 1);
    if (!Trim(answer).empty()) {
      result.found = true;
      result.answer = std::move(answer);
      result.method = "math_span";
      return result;
    }
  }
  if (last_number) {
    result.found = true;
    result.answer = last_number->text;
    result.method = "last_number";
  }
  return result;
}

}  // namespace scorch::reward
