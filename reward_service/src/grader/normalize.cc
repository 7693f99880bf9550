// Answer normalisation (ALGORITHMS §9.2). See normalize.h. Each pass is linear.
#include "scorch/reward/normalize.h"

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "scorch/reward/extract.h"

namespace scorch::reward {
namespace {

bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string Trimmed(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    size_t at = s.find(from, pos);
    if (at == std::string::npos) break;
    out.append(s, pos, at - pos);
    out.append(to);
    pos = at + from.size();
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

// Replaces `\name` (not followed by a letter) with `to`.
void ReplaceCommand(std::string& s, std::string_view name, std::string_view to, bool allow_letter_after = false) {
  std::string pat = "\\" + std::string(name);
  if (s.find(pat) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    size_t at = s.find(pat, pos);
    if (at == std::string::npos) break;
    size_t after = at + pat.size();
    out.append(s, pos, at - pos);
    if (!allow_letter_after && after < s.size() && IsAlpha(s[after])) {
      out.append(pat);
    } else {
      out.append(to);
    }
    pos = after;
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

// `\!` -> nothing; `\,`, `\;`, `\:`, `\ ` -> a space; `\\` (row break) stays whole.
std::string ReplaceEscapes(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char d = s[i + 1];
      if (d == '\\') {
        out += "\\\\";
        ++i;
        continue;
      }
      if (d == '!') {
        ++i;
        continue;
      }
      if (d == ',' || d == ';' || d == ':' || d == ' ') {
        out += ' ';
        ++i;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

const char* const kTextCommands[] = {"text", "textbf", "textit", "textrm", "textnormal", "mbox", "mathrm",
                                     "mathbf", "mathit", "mathsf", "mathtt", "operatorname", "textsf", "texttt",
                                     "boldsymbol", "mathbb", "bf", "rm"};

// Length of a text-like command name at s[i] ('\\'), followed by '{'; 0 if none.
size_t TextCommandAt(const std::string& s, size_t i) {
  if (s[i] != '\\') return 0;
  size_t j = i + 1;
  while (j < s.size() && IsAlpha(s[j])) ++j;
  std::string_view name(s.data() + i + 1, j - i - 1);
  size_t k = j;
  while (k < s.size() && s[k] == ' ') ++k;
  if (k >= s.size() || s[k] != '{') return 0;
  for (const char* t : kTextCommands) {
    if (name == t) return k - i + 1;  // through the '{'
  }
  return 0;
}

// Drops a trailing \text{...} (units) after a numeric-looking prefix.
bool DropTrailingText(std::string& s) {
  std::string t = Trimmed(s);
  // Optional ^2 / ^3 after the unit.
  size_t end = t.size();
  if (end >= 2 && t[end - 2] == '^' && (t[end - 1] == '2' || t[end - 1] == '3')) end -= 2;
  if (end == 0 || t[end - 1] != '}') return false;
  // Find the opening brace of the final group.
  int depth = 0;
  size_t open = std::string::npos;
  for (size_t k = end; k-- > 0;) {
    if (t[k] == '}') ++depth;
    if (t[k] == '{' && --depth == 0) {
      open = k;
      break;
    }
  }
  if (open == std::string::npos) return false;
  size_t cmd = open;
  while (cmd > 0 && t[cmd - 1] == ' ') --cmd;
  size_t name_end = cmd;
  while (cmd > 0 && IsAlpha(t[cmd - 1])) --cmd;
  if (cmd == 0 || t[cmd - 1] != '\\') return false;
  std::string name = t.substr(cmd, name_end - cmd);
  bool text_like = false;
  for (const char* c : kTextCommands) text_like |= name == c;
  if (!text_like) return false;
  std::string prefix = Trimmed(std::string_view(t).substr(0, cmd - 1));
  if (prefix.empty()) return false;
  char last = prefix.back();
  if (!(IsDigit(last) || last == '}' || last == ')' || last == '.')) return false;
  std::string content = t.substr(open + 1, end - 1 - open - 1);
  std::string lower;
  for (char c : content) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // A trailing "and"/"or" group is a list, not a unit.
  if (Trimmed(lower) == "and" || Trimmed(lower) == "or") return false;
  s = prefix;
  return true;
}

// Unwraps every text-like command, keeping its content (one linear pass with a brace stack).
std::string UnwrapTextCommands(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  std::vector<bool> drop_close;  // per open brace: whether its '}' is dropped
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      out += c;
      out += s[i + 1];
      i += 2;
      continue;
    }
    if (c == '\\') {
      size_t len = TextCommandAt(s, i);
      if (len) {
        out += ' ';
        drop_close.push_back(true);
        i += len;
        continue;
      }
    }
    if (c == '{') {
      drop_close.push_back(false);
    } else if (c == '}') {
      if (!drop_close.empty()) {
        bool drop = drop_close.back();
        drop_close.pop_back();
        if (drop) {
          out += ' ';
          ++i;
          continue;
        }
      }
    }
    out += c;
    ++i;
  }
  return out;
}

const char* const kUnitWords[] = {
    "cm", "mm", "km", "meters", "meter", "metres", "metre", "inches", "inch", "feet", "foot", "ft",
    "yards", "yard", "miles", "mile", "units", "unit", "degrees", "degree", "dollars", "dollar",
    "cents", "cent", "hours", "hour", "hrs", "minutes", "minute", "mins", "seconds", "second",
    "days", "day", "weeks", "week", "months", "month", "years", "year", "yuan", "kg", "grams",
    "gram", "pounds", "lbs", "ounces", "oz", "liters", "litres", "liter", "ml", "mph", "sq",
    "square", "cubic", "cm^2", "cm^3", "km^2", "m^2", "m^3", "ft^2", "in^2", "points", "students",
    "people", "ways", "euros", "euro"};

bool DropTrailingUnitWord(std::string& s) {
  std::string t = Trimmed(s);
  size_t end = t.size();
  size_t start = end;
  while (start > 0 && (IsAlpha(t[start - 1]) || t[start - 1] == '^' || IsDigit(t[start - 1]))) {
    if (IsDigit(t[start - 1]) && (start < 2 || t[start - 2] != '^')) break;
    --start;
  }
  if (start == end || start == 0) return false;
  std::string word = t.substr(start);
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool unit = false;
  for (const char* u : kUnitWords) unit |= word == u;
  if (!unit) return false;
  if (t[start - 1] == '\\') return false;
  std::string prefix = Trimmed(std::string_view(t).substr(0, start));
  if (prefix.empty()) return false;
  char last = prefix.back();
  if (!(IsDigit(last) || last == '}' || last == ')')) return false;
  s = prefix;
  return true;
}

bool RemoveWord(std::string& s, std::string_view word) {
  // Removes `word` when it is a whole word (case-insensitive); returns whether it did.
  bool removed = false;
  std::string lower;
  lower.reserve(s.size());
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t pos = 0;
  while ((pos = lower.find(word, pos)) != std::string::npos) {
    size_t end = pos + word.size();
    bool left_ok = pos == 0 || !IsAlpha(lower[pos - 1]);
    bool right_ok = end >= lower.size() || !IsAlpha(lower[end]);
    if (left_ok && right_ok && (pos == 0 || lower[pos - 1] != '\\')) {
      s.erase(pos, word.size());
      lower.erase(pos, word.size());
      removed = true;
    } else {
      pos = end;
    }
  }
  return removed;
}

const char* const kWordNumbers[] = {"zero",    "one",     "two",       "three",    "four",     "five",    "six",
                                    "seven",   "eight",   "nine",      "ten",      "eleven",   "twelve",  "thirteen",
                                    "fourteen", "fifteen", "sixteen",  "seventeen", "eighteen", "nineteen", "twenty"};

// Joins digit groups separated by `sep_len` characters that are all spaces: "1 000" -> "1000".
std::string JoinSpaceThousands(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t joined_at = std::string::npos;  // where the last joined 3-digit group starts in `out`
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ' && !out.empty() && IsDigit(out.back())) {
      size_t j = i;
      while (j < s.size() && s[j] == ' ') ++j;
      size_t d = j;
      while (d < s.size() && IsDigit(s[d])) ++d;
      // The digits before must be a group of 1-3 digits (not part of a decimal).
      size_t b = out.size();
      while (b > 0 && IsDigit(out[b - 1])) --b;
      bool after_join = joined_at != std::string::npos && joined_at >= b && out.size() - joined_at == 3;
      bool prev_group_ok = (after_join || out.size() - b <= 3) && (b == 0 || (out[b - 1] != '.' && out[b - 1] != '^'));
      bool next_ok = d - j == 3 && (d >= s.size() || (!IsAlpha(s[d]) && s[d] != '.' && s[d] != '^'));
      if (prev_group_ok && next_ok && j - i <= 1) {
        i = j - 1;  // skip the spaces
        joined_at = out.size();
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool IsCommaThousands(const std::string& t) {
  size_t i = 0;
  if (i < t.size() && t[i] == '-') ++i;
  size_t start = i;
  while (i < t.size() && IsDigit(t[i])) ++i;
  size_t first = i - start;
  if (first == 0 || first > 3) return false;
  if (first > 1 && t[start] == '0') return false;
  if (first == 1 && t[start] == '0') return false;
  int groups = 0;
  while (i < t.size() && t[i] == ',') {
    size_t d = i + 1;
    while (d < t.size() && IsDigit(t[d])) ++d;
    if (d - i - 1 != 3) return false;
    i = d;
    ++groups;
  }
  if (groups == 0) return false;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && IsDigit(t[i])) ++i;
  }
  return i == t.size();
}

bool IsDecimalComma(const std::string& t) {
  size_t i = 0;
  if (i < t.size() && t[i] == '-') ++i;
  size_t a = i;
  while (i < t.size() && IsDigit(t[i])) ++i;
  if (i == a || i >= t.size() || t[i] != ',') return false;
  size_t b = ++i;
  while (i < t.size() && IsDigit(t[i])) ++i;
  return i > b && i == t.size();
}

}  // namespace

NormalizedAnswer NormalizeAnswer(std::string_view answer) {
  NormalizedAnswer result;
  std::string s = CollapseDoubleEscapes(answer);

  // A bare answer may still hold boxes: the final group of boxes is the answer.
  for (int round = 0; round < 3 && (s.find("\\boxed") != std::string::npos || s.find("\\fbox") != std::string::npos);
       ++round) {
    std::vector<std::string> group = FinalBoxedGroup(s);
    if (group.empty()) break;
    std::string joined;
    for (size_t i = 0; i < group.size(); ++i) joined += (i ? ", " : "") + group[i];
    s = joined;
  }

  // Unicode forms.
  ReplaceAll(s, "\xE2\x88\x92", "-");          // −
  ReplaceAll(s, "\xC3\x97", "\\times ");       // ×
  ReplaceAll(s, "\xC2\xB7", "\\cdot ");        // ·
  ReplaceAll(s, "\xE2\x89\xA4", "\\le ");      // ≤
  ReplaceAll(s, "\xE2\x89\xA5", "\\ge ");      // ≥
  ReplaceAll(s, "\xE2\x89\xA0", "\\ne ");      // ≠
  ReplaceAll(s, "\xCF\x80", "\\pi ");          // π
  ReplaceAll(s, "\xE2\x88\x9E", "\\infty ");   // ∞
  ReplaceAll(s, "\xC2\xB0", "");               // °
  ReplaceAll(s, "\xC2\xB2", "^2");             // ²
  ReplaceAll(s, "\xC2\xB3", "^3");             // ³

  // Thousands separators written with spacing commands: `11,\! 111`, `14 {, }916`.
  ReplaceAll(s, ",\\! ", ",\\!");
  ReplaceAll(s, ",\\!", "");
  ReplaceAll(s, "{, }", "");
  ReplaceAll(s, "{ ,}", "");

  // Delimiters and spacing (a `\\` row break is kept whole).
  s = ReplaceEscapes(s);
  ReplaceAll(s, "\\$", " ");
  ReplaceAll(s, "$", " ");
  ReplaceAll(s, "\\(", " ");
  ReplaceAll(s, "\\)", " ");
  ReplaceAll(s, "\\[", " ");
  ReplaceAll(s, "\\]", " ");
  ReplaceAll(s, "\\left.", "");
  ReplaceAll(s, "\\right.", "");
  ReplaceCommand(s, "left", "");
  ReplaceCommand(s, "right", "");
  ReplaceCommand(s, "bigl", "");
  ReplaceCommand(s, "bigr", "");
  ReplaceCommand(s, "big", "");
  ReplaceCommand(s, "Big", "");
  ReplaceCommand(s, "qquad", " ", /*allow_letter_after=*/true);
  ReplaceCommand(s, "quad", " ", /*allow_letter_after=*/true);
  ReplaceCommand(s, "displaystyle", " ");
  ReplaceCommand(s, "limits", " ");
  ReplaceAll(s, "~", " ");
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v') c = ' ';
  }

  // Degrees.
  ReplaceAll(s, "^{\\circ}", "");
  ReplaceAll(s, "^\\circ", "");
  ReplaceAll(s, "^{\\degree}", "");
  ReplaceCommand(s, "circ", "");
  ReplaceCommand(s, "degree", "");

  // Percent.
  if (s.find('%') != std::string::npos) {
    result.percent = true;
    ReplaceAll(s, "\\%", " ");
    ReplaceAll(s, "%", " ");
  }
  for (const char* w : {"percentage", "percent", "pct"}) {
    if (RemoveWord(s, w)) result.percent = true;
  }

  ReplaceCommand(s, "dfrac", "\\frac");
  ReplaceCommand(s, "tfrac", "\\frac");
  ReplaceCommand(s, "cfrac", "\\frac");
  ReplaceCommand(s, "dbinom", "\\binom");
  ReplaceCommand(s, "tbinom", "\\binom");
  ReplaceAll(s, "{,}", "");  // 1{,}000

  // Trailing text units, then unwrap text commands, then unit words.
  s = Trimmed(s);
  while (!s.empty() && (s.back() == '.' || s.back() == ',')) s = Trimmed(s.substr(0, s.size() - 1));
  for (int k = 0; k < 3 && DropTrailingText(s); ++k) {
  }
  s = UnwrapTextCommands(s);
  s = Trimmed(s);
  for (int k = 0; k < 3 && DropTrailingUnitWord(s); ++k) {
  }

  // Thousands separators inside numbers.
  s = JoinSpaceThousands(s);
  s = Trimmed(s);
  while (!s.empty() && (s.back() == '.' || s.back() == '\\')) s = Trimmed(s.substr(0, s.size() - 1));
  if (IsCommaThousands(s)) {
    ReplaceAll(s, ",", "");
  } else if (IsDecimalComma(s)) {
    result.decimal_comma = true;
  }

  // Word numbers and multiple-choice letters.
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int k = 0; k <= 20; ++k) {
    if (lower == kWordNumbers[k]) s = std::to_string(k);
  }
  if (s.size() == 3 && s[0] == '(' && s[2] == ')' && IsAlpha(s[1]) && std::isupper(static_cast<unsigned char>(s[1]))) {
    s = std::string(1, s[1]);
  }
  result.text = std::move(s);
  return result;
}

std::string ComparisonKey(std::string_view normalized_text) {
  std::string key;
  key.reserve(normalized_text.size());
  for (char c : normalized_text) {
    if (IsSpace(c)) continue;
    key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

}  // namespace scorch::reward
