#pragma once
/// \file
/// Walk filters in containerd's syntax: the one parser and matcher behind Snapshotter::walk,
/// ContentStore::walk and ImageService::walk, so that every implementation (first-party or not)
/// accepts the same filters and answers them alike.
///
/// A filter string is one or more selectors joined by ',' (all must match); a list of filter
/// strings matches when any of them does; an empty list or an empty string matches everything.
/// A selector is `field`, `field==value`, `field!=value` or `field~=regex`:
/// - a field is one of the fields the kind of object has (see the parse_*_filters functions) or
///   `labels.<key>`; a dotted key may be written plainly (labels.a.b) or quoted
///   (labels."containerd.io/gc.root"); a field the object does not have is an error, so that a
///   typo is reported rather than silently matching nothing;
/// - a bare field matches when present; `==` needs presence and equality; `!=` matches when the
///   value differs (also when absent); `~=` is an ECMAScript regex searched in the value (an
///   absent value reads as ""), at most 1024 bytes, without back-references;
/// - values stop at ',' or white space unless quoted: "a,b" (escapes \" \\ \n \t \r; any other
///   backslash is kept, so regexes need no double escaping), or for regexes /.../ or |...| (only
///   the delimiter is escaped); "" is the empty value. White space around tokens is ignored.

#include "strata/plugin/content.hpp"
#include "strata/plugin/error.hpp"
#include "strata/plugin/images.hpp"
#include "strata/plugin/snapshot.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

/// The value of a field of the object being matched, asked by Filters::matches: `field` is one of
/// the fields given to Filters::parse (never "labels": labels are looked up by the SDK). nullopt
/// when the object has no such value. Must not throw (a throw counts as "absent").
using FieldGetter = std::function<std::optional<std::string>(std::string_view field)>;

/// A parsed list of filters (an OR of AND-ed selectors). Copies share the parsed form, which is
/// immutable: one Filters may be matched from several threads at once.
class Filters {
public:
  /// Filters that match everything (as an empty list does).
  Filters();

  /// Parses `filters` for objects that have `fields` (plain or dotted names such as "name" or
  /// "target.digest") and labels when `fields` holds "labels". Never throws.
  /// Errors: InvalidArgument naming the filter, the byte position (from 0) and what was expected
  /// there, an unknown field with the fields there are, or the regex error; Internal when memory
  /// runs out.
  static Result<Filters> parse(const std::vector<std::string>& filters,
                               const std::vector<std::string>& fields);

  /// True when there are no filters (or an empty one), or any filter matches the object whose
  /// labels are `labels` and whose other fields `field` returns. Never throws.
  bool matches(const Labels& labels, const FieldGetter& field) const noexcept;

  /// True when these filters match every object (no filters, or an empty filter among them), so
  /// that a caller may skip building what matches() would look at.
  bool match_everything() const noexcept;

  /// The parsed form (opaque; defined in the SDK library).
  struct Impl;

private:
  explicit Filters(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

/// Filters of Snapshotter::walk: fields `kind` (active, view or committed), `name`, `parent`
/// (always present, "" when there is none) and `labels.<key>`.
/// Errors: as Filters::parse.
Result<Filters> parse_snapshot_filters(const std::vector<std::string>& filters);
/// True when `filters` (from parse_snapshot_filters) match the snapshot `info`.
bool matches(const Filters& filters, const Info& info) noexcept;

/// Filters of ContentStore::walk: fields `digest` and `labels.<key>`.
/// Errors: as Filters::parse.
Result<Filters> parse_content_filters(const std::vector<std::string>& filters);
/// True when `filters` (from parse_content_filters) match the blob `info`.
bool matches(const Filters& filters, const ContentInfo& info) noexcept;

/// Filters of ImageService::walk: fields `name` and `labels.<key>`.
/// Errors: as Filters::parse.
Result<Filters> parse_image_filters(const std::vector<std::string>& filters);
/// True when `filters` (from parse_image_filters) match the image record `image`.
bool matches(const Filters& filters, const Image& image) noexcept;

} // namespace strata
