#pragma once
// Progress bars on a terminal: one line per item and a total, redrawn in place.

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace strata::cli {

/// Bars for a fixed list of items with known sizes. Call update() as often as you like: the
/// lines are redrawn at most ten times a second (and always by finish()).
class ProgressBars {
public:
  struct Item {
    std::string label;      ///< e.g. "layer 1/3 sha256:0123456789ab"
    std::uint64_t size = 0; ///< bytes when done
    std::uint64_t done = 0; ///< bytes so far
    std::string state;      ///< a word after the bar, e.g. "applying"
  };

  /// `out` must be a terminal (the lines are redrawn with ANSI cursor movements).
  ProgressBars(std::ostream& out, std::vector<Item> items);

  /// Sets item `index`'s bytes and state; out-of-range indexes are ignored.
  void update(std::size_t index, std::uint64_t done, const std::string& state);
  /// Draws the final state once more.
  void finish();

private:
  void draw();

  std::ostream& out_;
  std::vector<Item> items_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

/// "[#######.............]" of `width` cells for done/size (a full bar when size is 0).
std::string bar(std::uint64_t done, std::uint64_t size, std::size_t width);

} // namespace strata::cli
