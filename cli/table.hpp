#pragma once
// Human tables: columns aligned with spaces, like ctr's tabwriter output.

#include <string>
#include <vector>

namespace strata::cli {

/// Collects rows, then renders them with every column as wide as its widest cell plus a gap.
/// The last column is not padded, so lines carry no trailing spaces.
class Table {
public:
  explicit Table(std::vector<std::string> header);

  /// Adds a row; missing cells are empty, extra cells are an error (std::invalid_argument).
  void add_row(std::vector<std::string> row);

  /// The header and the rows, one line each, each ending in '\n'.
  std::string render() const;

private:
  std::vector<std::vector<std::string>> rows_; ///< rows_[0] is the header
};

/// Width of `text` on a terminal, counting UTF-8 code points (not bytes).
std::size_t display_width(const std::string& text);

} // namespace strata::cli
