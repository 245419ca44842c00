#include "progress_bars.hpp"

#include "content_format.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace strata::cli {

std::string bar(std::uint64_t done, std::uint64_t size, std::size_t width) {
  std::size_t filled =
      size == 0 ? width
                : static_cast<std::size_t>(static_cast<double>(std::min(done, size)) /
                                           static_cast<double>(size) * static_cast<double>(width));
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

ProgressBars::ProgressBars(std::ostream& out, std::vector<Item> items)
    : out_(out), items_(std::move(items)) {}

void ProgressBars::update(std::size_t index, std::uint64_t done, const std::string& state) {
  if (index >= items_.size())
    return;
  items_[index].done = done;
  items_[index].state = state;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100))
    return;
  last_ = now;
  draw();
}

void ProgressBars::finish() {
  draw();
}

void ProgressBars::draw() {
  std::size_t label_width = 5;
  for (const auto& i : items_)
    label_width = std::max(label_width, i.label.size());
  std::uint64_t total = 0, done = 0;
  // Move up over the previous drawing and overwrite each line ("\x1b[2K" clears it).
  if (drawn_)
    out_ << fmt::format("\x1b[{}A", items_.size() + 1);
  for (const auto& i : items_) {
    total += i.size;
    done += std::min(i.done, i.size);
    out_ << fmt::format("\x1b[2K{:<{}} {} {:>9}/{:<9} {}\n", i.label, label_width,
                        bar(i.done, i.size, 24), human_size(static_cast<std::int64_t>(i.done)),
                        human_size(static_cast<std::int64_t>(i.size)), i.state);
  }
  out_ << fmt::format("\x1b[2K{:<{}} {} {:>9}/{:<9}\n", "total", label_width, bar(done, total, 24),
                      human_size(static_cast<std::int64_t>(done)),
                      human_size(static_cast<std::int64_t>(total)));
  out_.flush();
  drawn_ = true;
}

} // namespace strata::cli
