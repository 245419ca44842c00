// Walk filters: a small recursive-descent parser over containerd's filter grammar.
//
//   filter   := selector ("," selector)*
//   selector := fieldpath [op value]
//   fieldpath:= field ("." field)*
//   field    := quoted | [A-Za-z0-9_/:-]+
//   op       := "==" | "!=" | "~="
//   value    := quoted | /regex/ | |regex| | [^,\s]+

// GCC 12 reports a false -Wmaybe-uninitialized inside <regex> (std::function in _State) when
// building with sanitizers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <strata/metastore/filter.hpp>
#include <strata/plugin/try.hpp>

#include <exception>
#include <optional>
#include <regex>
#include <string_view>

namespace strata::metastore {

namespace {

enum class Op { Present, Equal, NotEqual, Matches };

constexpr std::size_t kMaxRegex = 1024;
// libstdc++'s default matcher recurses once per input character and overflows the stack on long
// names; __polynomial selects its breadth-first matcher (no back-references, linear depth).
constexpr auto kRegexFlags = std::regex::ECMAScript | std::regex_constants::__polynomial;

struct Selector {
  std::vector<std::string> fieldpath;
  Op op = Op::Present;
  std::string value;
  std::optional<std::regex> re;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_field_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '/' || c == ':';
}

class Parser {
public:
  explicit Parser(const std::string& input) : in_(input) {}

  Result<std::vector<Selector>> parse() {
    std::vector<Selector> out;
    for (;;) {
      STRATA_TRY_ASSIGN(auto sel, selector());
      out.push_back(std::move(sel));
      skip_space();
      if (at_end())
        return out;
      if (peek() != ',')
        return fail("expected ',' or the end of the filter");
      ++pos_;
    }
  }

private:
  bool at_end() const { return pos_ >= in_.size(); }
  char peek() const { return in_[pos_]; }
  void skip_space() {
    while (!at_end() && is_space(peek()))
      ++pos_;
  }

  Error fail(std::string_view what) const { return fail_at(pos_, what); }
  Error fail_at(std::size_t at, std::string_view what) const {
    std::string found = at < in_.size() ? "'" + std::string(1, in_[at]) + "'" : "the end";
    return invalid_argument("metastore: invalid filter \"" + in_ + "\" at position " +
                            std::to_string(at) + " (found " + found + "): " + std::string(what));
  }

  Result<Selector> selector() {
    Selector sel;
    skip_space();
    for (;;) {
      STRATA_TRY_ASSIGN(auto f, field());
      sel.fieldpath.push_back(std::move(f));
      if (at_end() || peek() != '.')
        break;
      ++pos_;
    }
    skip_space();
    if (at_end() || peek() == ',')
      return sel;
    std::size_t op_at = pos_;
    while (!at_end() && (peek() == '=' || peek() == '!' || peek() == '~'))
      ++pos_;
    std::string_view op(in_.data() + op_at, pos_ - op_at);
    if (op == "==")
      sel.op = Op::Equal;
    else if (op == "!=")
      sel.op = Op::NotEqual;
    else if (op == "~=")
      sel.op = Op::Matches;
    else if (op.empty())
      return fail_at(op_at, "expected an operator (==, != or ~=), ',' or the end after the field");
    else
      return fail_at(op_at, "unknown operator \"" + std::string(op) + "\"; use ==, != or ~=");
    skip_space();
    std::size_t value_at = pos_;
    STRATA_TRY_ASSIGN(auto v, value());
    sel.value = std::move(v);
    if (sel.op == Op::Matches) {
      // The regex compiler recurses per nesting level: bound the pattern it is given.
      if (sel.value.size() > kMaxRegex)
        return fail_at(value_at,
                       "regular expression longer than " + std::to_string(kMaxRegex) + " bytes");
      try {
        sel.re.emplace(sel.value, kRegexFlags);
      } catch (const std::regex_error& e) {
        return fail_at(value_at, "bad regular expression \"" + sel.value + "\": " + e.what());
      }
    }
    return sel;
  }

  Result<std::string> field() {
    if (at_end())
      return fail("expected a field name (kind, name, parent or labels.<key>)");
    if (peek() == '"')
      return quoted();
    std::size_t start = pos_;
    while (!at_end() && is_field_char(peek()))
      ++pos_;
    if (pos_ == start)
      return fail("expected a field name (kind, name, parent or labels.<key>); quote names "
                  "with other characters: \"...\"");
    return in_.substr(start, pos_ - start);
  }

  Result<std::string> value() {
    if (at_end() || peek() == ',')
      return fail("expected a value after the operator (\"\" for the empty value)");
    if (peek() == '"')
      return quoted();
    if (peek() == '/' || peek() == '|')
      return delimited(peek());
    std::size_t start = pos_;
    while (!at_end() && peek() != ',' && !is_space(peek()))
      ++pos_;
    return in_.substr(start, pos_ - start);
  }

  // "..." with the escapes \" \\ \n \t \r; any other backslash is kept, so regexes need no
  // double escaping.
  Result<std::string> quoted() {
    std::size_t open = pos_++;
    std::string out;
    while (!at_end()) {
      char c = in_[pos_++];
      if (c == '"')
        return out;
      if (c == '\\' && !at_end()) {
        char e = in_[pos_++];
        switch (e) {
        case '"':
        case '\\':
          out += e;
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        default:
          out += '\\';
          out += e;
        }
        continue;
      }
      out += c;
    }
    return fail_at(open, "unterminated quoted string");
  }

  // /.../ or |...|: only the delimiter itself is escaped.
  Result<std::string> delimited(char delim) {
    std::size_t open = pos_++;
    std::string out;
    while (!at_end()) {
      char c = in_[pos_++];
      if (c == delim)
        return out;
      if (c == '\\' && !at_end() && peek() == delim) {
        out += delim;
        ++pos_;
        continue;
      }
      out += c;
    }
    return fail_at(open, std::string("unterminated ") + delim + "..." + delim + " value");
  }

  const std::string& in_;
  std::size_t pos_ = 0;
};

std::string_view kind_name(Kind kind) {
  switch (kind) {
  case Kind::Active:
    return "active";
  case Kind::View:
    return "view";
  case Kind::Committed:
    return "committed";
  default:
    return {};
  }
}

/// The value of `fieldpath` in `info`, or nullopt when absent.
std::optional<std::string> field_of(const std::vector<std::string>& fp, const Info& info) {
  const std::string& head = fp.front();
  if (head == "labels") {
    if (fp.size() < 2)
      return std::nullopt;
    std::string key = fp[1];
    for (std::size_t i = 2; i < fp.size(); ++i)
      key += "." + fp[i];
    auto it = info.labels.find(key);
    if (it == info.labels.end())
      return std::nullopt;
    return it->second;
  }
  if (fp.size() != 1)
    return std::nullopt;
  if (head == "kind") {
    auto k = kind_name(info.kind);
    return k.empty() ? std::nullopt : std::optional<std::string>(k);
  }
  if (head == "name")
    return info.name;
  if (head == "parent")
    return info.parent;
  return std::nullopt;
}

bool matches(const Selector& s, const Info& info) {
  auto v = field_of(s.fieldpath, info);
  switch (s.op) {
  case Op::Present:
    return v.has_value();
  case Op::Equal:
    return v && *v == s.value;
  case Op::NotEqual:
    return v.value_or("") != s.value;
  case Op::Matches:
    try {
      return std::regex_search(v.value_or(""), *s.re);
    } catch (const std::exception&) {
      return false; // e.g. regex_error(error_complexity) on a pathological pattern
    }
  }
  return false;
}

} // namespace

struct Filters::Impl {
  bool all = true; ///< no filters, or an empty one
  std::vector<std::vector<Selector>> any;
};

Result<Filters> Filters::parse(const std::vector<std::string>& filters) {
  try {
    auto impl = std::make_shared<Impl>();
    impl->all = filters.empty();
    for (const auto& f : filters) {
      if (f.empty()) {
        impl->all = true;
        continue;
      }
      STRATA_TRY_ASSIGN(auto sels, Parser(f).parse());
      impl->any.push_back(std::move(sels));
    }
    return Filters(std::move(impl));
  } catch (const std::exception& e) {
    return internal_error(std::string("metastore: cannot parse filters: ") + e.what());
  }
}

bool Filters::matches(const Info& info) const {
  if (impl_->all)
    return true;
  for (const auto& sels : impl_->any) {
    bool ok = true;
    for (const auto& s : sels)
      if (!metastore::matches(s, info)) {
        ok = false;
        break;
      }
    if (ok)
      return true;
  }
  return false;
}

} // namespace strata::metastore
