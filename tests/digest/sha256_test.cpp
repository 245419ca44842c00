#include "strata/digest/sha256.hpp"

#include <gtest/gtest.h>

using namespace strata::digest;

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_of(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_of("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string data(100000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 31);
  Sha256 h;
  for (std::size_t i = 0; i < data.size(); i += 777)
    h.update(std::string_view(data).substr(i, 777));
  EXPECT_EQ(h.finish(), sha256_of(data));
}

TEST(Sha256, Validate) {
  EXPECT_TRUE(validate(sha256_of("a")));
  EXPECT_FALSE(validate("sha256:abc"));
  EXPECT_FALSE(validate("md5:" + std::string(64, 'a')));
  EXPECT_FALSE(validate("sha256:" + std::string(64, 'A')));
  EXPECT_EQ(validate("x").error().code(), strata::Code::InvalidArgument);
}
