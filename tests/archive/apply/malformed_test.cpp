// Hand-made tar streams no well-behaved writer produces: broken checksums, lying size fields,
// raw GNU and PAX extension records carrying hostile names, missing end blocks. Each case has
// one expected outcome, and the fixture checks that nothing beside the root changed.
#include "sandbox.hpp"

namespace strata::testing {
namespace {

class Malformed : public ApplySandbox {
protected:
  static RawEntry raw_file(std::string name, std::string data) {
    RawEntry e;
    e.name = std::move(name);
    e.data = std::move(data);
    return e;
  }
};

TEST_F(Malformed, BadHeaderChecksumIsInvalidArgument) {
  RawEntry e = raw_file("f", "data");
  e.bad_checksum = true;
  expect_error(raw_tar({e}), Code::InvalidArgument);
  EXPECT_FALSE(stdfs::exists(root_ / "f"));
}

TEST_F(Malformed, HugeSizeFieldWithLittleDataIsTruncation) {
  RawEntry e = raw_file("f", "only this");
  e.size_field = std::string("77777777777\0", 12); // 8 GiB declared
  expect_error(raw_tar({e}), Code::InvalidArgument);
}

TEST_F(Malformed, HugeSizeFieldIsRefusedByTheEntryLimitBeforeAnyRead) {
  RawEntry e = raw_file("f", "only this");
  e.size_field = std::string("77777777777\0", 12);
  archive::ApplyOptions opts;
  opts.max_total_bytes = 1 << 20;
  expect_error(raw_tar({e}), Code::ResourceExhausted, opts);
  EXPECT_FALSE(stdfs::exists(root_ / "f"));
}

TEST_F(Malformed, NegativeBase256SizeIsInvalidArgument) {
  RawEntry e = raw_file("f", "");
  e.size_field = std::string(12, '\xff'); // base-256, sign bit set: -1
  expect_error(raw_tar({e}), Code::InvalidArgument);
}

TEST_F(Malformed, GnuLongNameClimbingOutIsRefused) {
  RawEntry longname;
  longname.name = "././@LongLink";
  longname.typeflag = 'L';
  longname.data = std::string("../../outside/file") + '\0';
  expect_error(raw_tar({longname, raw_file("innocent", "pwned")}), Code::InvalidArgument);
}

TEST_F(Malformed, GnuLongLinkHardlinkClimbingOutIsRefused) {
  RawEntry longlink;
  longlink.name = "././@LongLink";
  longlink.typeflag = 'K';
  longlink.data = std::string("../outside/file") + '\0';
  RawEntry link;
  link.name = "h";
  link.typeflag = '1';
  link.linkname = "innocent";
  expect_error(raw_tar({longlink, link}), Code::InvalidArgument);
}

TEST_F(Malformed, PaxPathOverridingTheNameIsCleanedToo) {
  expect_error(raw_tar({pax_header({{"path", "a/../../outside/file"}}), raw_file("ok", "pwned")}),
               Code::InvalidArgument);
}

TEST_F(Malformed, PaxLinkpathToAnAbsoluteHostPathResolvesInsideTheRoot) {
  RawEntry link;
  link.name = "h";
  link.typeflag = '1';
  link.linkname = "innocent";
  expect_error(raw_tar({pax_header({{"linkpath", (outside_ / "file").string()}}), link}),
               Code::NotFound);
}

TEST_F(Malformed, PaxSymlinkTargetIsKeptVerbatim) {
  RawEntry link;
  link.name = "s";
  link.typeflag = '2';
  link.linkname = "innocent";
  const std::string target = "../../../../" + outside_.string() + "/file";
  ASSERT_TRUE(expect_ok(raw_tar({pax_header({{"linkpath", target}}), link})).ok);
  EXPECT_EQ(stdfs::read_symlink(root_ / "s").string(), target);
}

TEST_F(Malformed, GlobalPaxHeaderDoesNotRenameEntries) {
  // libarchive does not apply a global header's path to later entries; whatever it names is
  // not written anywhere.
  ASSERT_TRUE(
      expect_ok(raw_tar({pax_header({{"path", "../evil"}}, 'g'), raw_file("ok", "ok")})).ok);
  EXPECT_EQ(read_file(root_ / "ok"), "ok");
}

TEST_F(Malformed, SymlinkWithoutATargetIsInvalidArgument) {
  RawEntry link;
  link.name = "s";
  link.typeflag = '2';
  expect_error(raw_tar({link}), Code::InvalidArgument);
}

TEST_F(Malformed, UstarHardlinkCarryingDataIsDamaged) {
  // Plain ustar hardlinks have no data: libarchive reads the bytes as the next header.
  RawEntry link;
  link.name = "h";
  link.typeflag = '1';
  link.linkname = "f";
  link.data = "ignored data";
  expect_error(raw_tar({raw_file("f", "real"), link, raw_file("g", "after")}),
               Code::InvalidArgument);
}

TEST_F(Malformed, PaxHardlinkCarryingDataLinksAndSkipsTheData) {
  // In a PAX archive a hardlink may carry data; the link is made and the data is not written
  // through it.
  RawEntry link;
  link.name = "h";
  link.typeflag = '1';
  link.linkname = "f";
  link.data = "ignored data";
  ASSERT_TRUE(expect_ok(raw_tar({raw_file("f", "real"), pax_header({{"comment", "x"}}), link,
                                 raw_file("g", "after")}))
                  .ok);
  EXPECT_EQ(read_file(root_ / "h"), "real");
  EXPECT_EQ(read_file(root_ / "g"), "after");
}

TEST_F(Malformed, UnknownTypeflagIsARegularFileInsideTheRoot) {
  // POSIX: readers treat unknown types as regular files, as libarchive does.
  RawEntry e = raw_file("odd", "data");
  e.typeflag = 'Z';
  ASSERT_TRUE(expect_ok(raw_tar({e})).ok);
  EXPECT_EQ(read_file(root_ / "odd"), "data");
}

TEST_F(Malformed, MissingEndOfArchiveBlocksAreAccepted) {
  // Many writers stop after the last entry; the stream ending on a header boundary is a clean
  // end.
  auto r = apply(raw_tar({raw_file("f", "data")}, false));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(read_file(root_ / "f"), "data");
}

TEST_F(Malformed, TruncatedPaxHeaderIsInvalidArgument) {
  std::string tar = raw_tar({pax_header({{"path", std::string(2000, 'p')}}), raw_file("f", "")});
  expect_error(tar.substr(0, 512 + 700), Code::InvalidArgument);
}

TEST_F(Malformed, EmptyStreamAndBareEndBlocksAreEmptyLayers) {
  for (const std::string& tar : {std::string(), std::string(1024, '\0')}) {
    auto r = apply(tar);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->entries, 0u);
    EXPECT_EQ(r->size, std::int64_t(tar.size()));
  }
}

TEST_F(Malformed, SourceErrorsComeThroughUnchanged) {
  std::string tar = TarBuilder().file("a", std::string(100000, 'a')).bytes();
  auto state = std::make_shared<std::size_t>(0);
  contentio::Source failing = [state, tar](std::span<std::byte> buf) -> Result<std::size_t> {
    if (*state > 20000)
      return Error(Code::Unavailable, "registry connection reset");
    std::size_t n = std::min<std::size_t>(buf.size(), 4096);
    std::memcpy(buf.data(), tar.data() + *state, n);
    *state += n;
    return n;
  };
  auto r = archive::apply(root_.string(), failing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Unavailable) << r.error().to_string();
}

} // namespace
} // namespace strata::testing
