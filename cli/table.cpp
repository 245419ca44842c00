#include "table.hpp"

#include <algorithm>
#include <stdexcept>

namespace strata::cli {
namespace {
constexpr std::size_t gap = 4; // spaces between columns, as ctr prints them
} // namespace

Table::Table(std::vector<std::string> header) {
  rows_.push_back(std::move(header));
}

void Table::add_row(std::vector<std::string> row) {
  if (row.size() > rows_.front().size())
    throw std::invalid_argument("table row has more cells than the header");
  row.resize(rows_.front().size());
  rows_.push_back(std::move(row));
}

std::string Table::render() const {
  const std::size_t columns = rows_.front().size();
  std::vector<std::size_t> widths(columns, 0);
  for (const auto& row : rows_)
    for (std::size_t c = 0; c < columns; ++c)
      widths[c] = std::max(widths[c], display_width(row[c]));
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t c = 0; c < columns; ++c) {
      line += row[c];
      if (c + 1 < columns)
        line.append(widths[c] - display_width(row[c]) + gap, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + '\n';
  }
  return out;
}

std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char ch) {
    return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  }));
}

} // namespace strata::cli
