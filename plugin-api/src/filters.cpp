// Walk filters: a small recursive-descent parser over containerd's filter grammar, and the
// field getters of the SDK's snapshot, content and image types.
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

#include "strata/plugin/filters.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <optional>
#include <regex>
#include <string_view>

namespace strata {

namespace {

enum class Op { Present, Equal, NotEqual, Matches };

constexpr std::size_t kMaxRegex = 1024;
// libstdc++'s default matcher recurses once per input character and overflows the stack on long
// names; __polynomial selects its breadth-first matcher (no back-references, linear depth).
constexpr auto kRegexFlags = std::regex::ECMAScript | std::regex_constants::__polynomial;

struct Selector {
  std::string field; ///< one of the parse() fields, or "labels"
  std::string key;   ///< the label key when field is "labels"
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
  Parser(const std::string& input, const std::vector<std::string>& fields)
      : in_(input), fields_(fields) {}

  Result<std::vector<Selector>> parse() {
    std::vector<Selector> out;
    for (;;) {
      auto sel = selector();
      if (!sel)
        return std::move(sel).error();
      out.push_back(std::move(*sel));
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
    return invalid_argument("invalid filter \"" + in_ + "\" at position " + std::to_string(at) +
                            " (found " + found + "): " + std::string(what));
  }

  Result<Selector> selector() {
    Selector sel;
    skip_space();
    const std::size_t field_at = pos_;
    std::vector<std::string> path;
    for (;;) {
      auto f = field();
      if (!f)
        return std::move(f).error();
      path.push_back(std::move(*f));
      if (at_end() || peek() != '.')
        break;
      ++pos_;
    }
    if (auto st = resolve(path, field_at, sel); !st)
      return std::move(st).error();
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
    auto v = value();
    if (!v)
      return std::move(v).error();
    sel.value = std::move(*v);
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

  // The fieldpath as a field of fields_ (its components joined by '.'), or "labels" and a key.
  Status resolve(const std::vector<std::string>& path, std::size_t at, Selector& sel) const {
    auto known = [&](std::string_view f) {
      return std::find(fields_.begin(), fields_.end(), f) != fields_.end();
    };
    std::string joined = path.front();
    for (std::size_t i = 1; i < path.size(); ++i)
      joined += "." + path[i];
    if (path.front() == "labels" && known("labels")) {
      if (path.size() < 2)
        return fail_at(at, "\"labels\" needs a key: labels.<key>");
      sel.field = "labels";
      sel.key = joined.substr(std::string_view("labels.").size());
      return {};
    }
    if (joined != "labels" && known(joined)) {
      sel.field = std::move(joined);
      return {};
    }
    return fail_at(at, "unknown field \"" + joined + "\"; the fields are " + field_list());
  }

  std::string field_list() const {
    std::string out;
    for (const auto& f : fields_)
      out += (out.empty() ? "" : ", ") + (f == "labels" ? std::string("labels.<key>") : f);
    return out;
  }

  Result<std::string> field() {
    if (at_end())
      return fail("expected a field name (" + field_list() + ")");
    if (peek() == '"')
      return quoted();
    std::size_t start = pos_;
    while (!at_end() && is_field_char(peek()))
      ++pos_;
    if (pos_ == start)
      return fail("expected a field name (" + field_list() +
                  "); quote names with other characters: \"...\"");
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
  const std::vector<std::string>& fields_;
  std::size_t pos_ = 0;
};

bool selector_matches(const Selector& s, const Labels& labels, const FieldGetter& get) {
  std::optional<std::string> v;
  if (s.field == "labels") {
    if (auto it = labels.find(s.key); it != labels.end())
      v = it->second;
  } else {
    try {
      v = get(s.field);
    } catch (...) {
      v.reset(); // a getter must not throw; if it does, the field reads as absent
    }
  }
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

// Kinds read in lower case ("active"), as containerd's snapshot filters have them.
std::optional<std::string> kind_field(Kind kind) {
  if (kind == Kind::Unknown)
    return std::nullopt;
  std::string name(to_string(kind));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

} // namespace

struct Filters::Impl {
  bool all = true; ///< no filters, or an empty one
  std::vector<std::vector<Selector>> any;
};

Filters::Filters() : impl_(std::make_shared<const Impl>()) {}

Result<Filters> Filters::parse(const std::vector<std::string>& filters,
                               const std::vector<std::string>& fields) {
  try {
    auto impl = std::make_shared<Impl>();
    impl->all = filters.empty();
    for (const auto& f : filters) {
      if (f.empty()) {
        impl->all = true;
        continue;
      }
      auto sels = Parser(f, fields).parse();
      if (!sels)
        return std::move(sels).error();
      impl->any.push_back(std::move(*sels));
    }
    return Filters(std::move(impl));
  } catch (const std::exception& e) {
    return internal_error(std::string("cannot parse filters: ") + e.what());
  }
}

bool Filters::matches(const Labels& labels, const FieldGetter& field) const noexcept {
  if (impl_->all)
    return true;
  try {
    return std::any_of(impl_->any.begin(), impl_->any.end(), [&](const auto& sels) {
      return std::all_of(sels.begin(), sels.end(),
                         [&](const Selector& s) { return selector_matches(s, labels, field); });
    });
  } catch (...) {
    return false; // out of memory copying a value: no match rather than a throw out of noexcept
  }
}

bool Filters::match_everything() const noexcept {
  return impl_->all;
}

Result<Filters> parse_snapshot_filters(const std::vector<std::string>& filters) {
  return Filters::parse(filters, {"kind", "name", "parent", "labels"});
}

bool matches(const Filters& filters, const Info& info) noexcept {
  return filters.matches(info.labels, [&info](std::string_view f) -> std::optional<std::string> {
    if (f == "kind")
      return kind_field(info.kind);
    if (f == "name")
      return info.name;
    if (f == "parent")
      return info.parent;
    return std::nullopt;
  });
}

Result<Filters> parse_content_filters(const std::vector<std::string>& filters) {
  return Filters::parse(filters, {"digest", "labels"});
}

bool matches(const Filters& filters, const ContentInfo& info) noexcept {
  return filters.matches(info.labels, [&info](std::string_view f) -> std::optional<std::string> {
    if (f == "digest")
      return info.digest;
    return std::nullopt;
  });
}

Result<Filters> parse_image_filters(const std::vector<std::string>& filters) {
  return Filters::parse(filters, {"name", "labels"});
}

bool matches(const Filters& filters, const Image& image) noexcept {
  return filters.matches(image.labels, [&image](std::string_view f) -> std::optional<std::string> {
    if (f == "name")
      return image.name;
    return std::nullopt;
  });
}

} // namespace strata
