#pragma once
// FakeDiffer as a strata.differ.v1 plugin: each fake_<behaviour>.cpp only names its spec and
// behaviour. Init creates the plugin root and exports "calls", the file that records each call.

#include "fake_differ.hpp"

#include <strata/plugin/sdk.hpp>

#include <filesystem>
#include <memory>
#include <system_error>

namespace diffservice_test {

template <class Self> class FakePlugin : public FakeDiffer {
public:
  static strata::InitResult init(strata::InitContext& ic) {
    std::error_code ec;
    std::filesystem::create_directories(ic.root(), ec);
    if (ec)
      return strata::internal_error("fake differ: cannot create " + ic.root() + ": " +
                                    ec.message());
    const std::string calls = ic.root() + "/calls";
    ic.meta().exports["calls"] = calls;
    return std::make_shared<Self>(Self::spec.id, Self::behaviour, calls);
  }

  using FakeDiffer::FakeDiffer;
};

} // namespace diffservice_test
