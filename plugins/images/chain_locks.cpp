#include "chain_locks.hpp"

namespace strata::images {

ChainLocks::Held::Held(ChainLocks& owner, std::vector<std::string> names)
    : owner_(owner), names_(std::move(names)) {}

ChainLocks::Held::~Held() {
  {
    std::lock_guard lock(owner_.mu_);
    for (const auto& n : names_)
      owner_.held_.erase(n);
  }
  owner_.freed_.notify_all();
}

std::unique_ptr<ChainLocks::Held> ChainLocks::lock(std::vector<std::string> names) {
  std::unique_lock lock(mu_);
  for (const auto& n : names) {
    freed_.wait(lock, [&] { return held_.count(n) == 0; });
    held_.insert(n);
  }
  return std::make_unique<Held>(*this, std::move(names));
}

} // namespace strata::images
