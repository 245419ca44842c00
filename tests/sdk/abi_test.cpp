// The ABI contract: descriptor layout, entry and toolchain symbol names, and a fingerprint of
// abi.h so that an edit to the C contract without a version bump fails here.
#include "strata/plugin/abi.h"
#include "strata/plugin/toolchain.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>

namespace {

#if defined(__x86_64__) || defined(__aarch64__)
static_assert(offsetof(strata_plugin_descriptor, abi_major) == 0);
static_assert(offsetof(strata_plugin_descriptor, abi_minor) == 4);
static_assert(offsetof(strata_plugin_descriptor, struct_size) == 8);
static_assert(offsetof(strata_plugin_descriptor, toolchain) == 16);
static_assert(offsetof(strata_plugin_descriptor, type) == 24);
static_assert(offsetof(strata_plugin_descriptor, requires_list) == 48);
static_assert(offsetof(strata_plugin_descriptor, register_fn) == 56);
static_assert(sizeof(strata_plugin_descriptor) == 64);
#endif

TEST(Abi, EntryNameCarriesMajor) {
  EXPECT_EQ(std::string(STRATA_PLUGIN_ENTRY_NAME),
            "strata_plugin_v" + std::to_string(STRATA_PLUGIN_ABI_MAJOR));
}

TEST(Abi, ToolchainSymbolMatchesTag) {
  std::string tag = strata::toolchain_tag;
  std::string sym = strata::toolchain_symbol;
  EXPECT_EQ(sym.rfind(STRATA_TOOLCHAIN_SYMBOL_PREFIX, 0), 0u);
#if defined(__GNUC__) && !defined(__clang__) && defined(__GLIBCXX__)
  EXPECT_EQ(tag.rfind("gcc/libstdc++/cxx11/boost-", 0), 0u) << tag;
  EXPECT_NE(sym.find("gcc_libstdcxx_cxx11_boost"), std::string::npos) << sym;
#endif
}

// FNV-1a over abi.h with blank lines dropped. When this fails: if the change alters the
// descriptor or entry, bump STRATA_PLUGIN_ABI_MAJOR (incompatible) or _MINOR (appended field);
// then record the new fingerprint here together with the version.
TEST(Abi, HeaderFingerprintMatchesVersion) {
  std::ifstream in(STRATA_ABI_HEADER);
  ASSERT_TRUE(in) << STRATA_ABI_HEADER;
  std::uint64_t h = 1469598103934665603ull;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    for (unsigned char c : line + "\n") {
      h ^= c;
      h *= 1099511628211ull;
    }
  }
  std::ostringstream got;
  got << STRATA_PLUGIN_ABI_MAJOR << "." << STRATA_PLUGIN_ABI_MINOR << ":" << std::hex << h;
  EXPECT_EQ(got.str(), RECORDED) << "abi.h changed; see the comment above this test";
}

} // namespace
