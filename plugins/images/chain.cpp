#include "chain.hpp"

#include <strata/digest/sha256.hpp>

namespace strata::images {

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  out.reserve(diff_ids.size());
  for (const auto& id : diff_ids)
    out.push_back(out.empty() ? id : digest::sha256_of(out.back() + " " + id));
  return out;
}

} // namespace strata::images
