// The SDK's value types: one JSON conversion each, round trips and helpful errors.
#include "strata/plugin/sdk.hpp"

#include <gtest/gtest.h>

using namespace strata;

namespace {

template <class T> T round_trip(const T& v) {
  auto text = json::serialize(json::value_from(v));
  auto parsed = parse_json(text, "test");
  EXPECT_TRUE(parsed.ok());
  auto back = from_json<T>(*parsed, "test");
  EXPECT_TRUE(back.ok()) << (back ? "" : back.error().to_string());
  return *back;
}

TEST(Json, MountRoundTrip) {
  Mount m{"overlay", "overlay", "", {"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "index=off"}};
  EXPECT_EQ(round_trip(m), m);
  auto v = json::value_from(m);
  EXPECT_EQ(v.at("type").as_string(), "overlay");
  EXPECT_EQ(v.at("options").as_array().size(), 4u);
}

TEST(Json, MountOptionalFields) {
  auto m = from_json<Mount>(json::parse(R"({"type":"bind","source":"/x"})"), "mount");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->options.empty());
  auto bad = from_json<Mount>(json::parse(R"({"source":"/x"})"), "mount");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::InvalidArgument);
  EXPECT_NE(bad.error().message().find("type"), std::string::npos);
}

TEST(Json, DescriptorUsesOciFieldNames) {
  Descriptor d{media_type::layer_tar_gzip, "sha256:" + std::string(64, 'a'), 1234, {{"k", "v"}}};
  auto v = json::value_from(d);
  EXPECT_EQ(v.at("mediaType").as_string(), media_type::layer_tar_gzip);
  EXPECT_EQ(v.at("size").as_int64(), 1234);
  EXPECT_EQ(round_trip(d), d);
}

TEST(Json, InfoRoundTripKeepsNanosecondsInUtc) {
  Info i;
  i.kind = Kind::Committed;
  i.name = "sha256:abc";
  i.parent = "p";
  i.labels = {{"strata/snapshot.ref", "x"}};
  i.created = Timestamp{} + std::chrono::seconds(1'700'000'000) + std::chrono::nanoseconds(123);
  i.updated = i.created + std::chrono::seconds(5);
  auto v = json::value_from(i);
  EXPECT_EQ(v.at("kind").as_string(), "Committed");
  EXPECT_EQ(v.at("created").as_string(), "2023-11-14T22:13:20.000000123Z");
  EXPECT_EQ(round_trip(i), i);
}

TEST(Json, ApplyOptionsRoundTripAndDefaults) {
  ApplyOptions o;
  o.diff_id = "sha256:" + std::string(64, 'b');
  o.sync_fs = true;
  o.processor_payloads = {{"io.example.decrypt", "key"}};
  auto back = round_trip(o);
  EXPECT_EQ(back.diff_id, o.diff_id);
  EXPECT_TRUE(back.sync_fs);
  EXPECT_EQ(back.processor_payloads, o.processor_payloads);
  auto empty = from_json<ApplyOptions>(json::parse("{}"), "options");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->sync_fs);
  EXPECT_TRUE(empty->diff_id.empty());
  EXPECT_EQ(empty->target, ApplyTarget::Mounts);
  auto bad = from_json<ApplyOptions>(json::parse(R"({"syncFs":"yes"})"), "options");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::InvalidArgument);
}

TEST(Json, ApplyOptionsTargetByName) {
  ApplyOptions o;
  EXPECT_FALSE(json::value_from(o).as_object().contains("target")) << "the default is left out";
  o.target = ApplyTarget::UpperdirUnknownLowers;
  auto v = json::value_from(o);
  EXPECT_EQ(v.at("target").as_string(), "upperdir-unknown-lowers");
  EXPECT_EQ(round_trip(o).target, ApplyTarget::UpperdirUnknownLowers);
  auto mounts = from_json<ApplyOptions>(json::parse(R"({"target":"mounts"})"), "options");
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ(mounts->target, ApplyTarget::Mounts);
  auto bad = from_json<ApplyOptions>(json::parse(R"({"target":"upperdir"})"), "options");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::InvalidArgument);
  EXPECT_NE(bad.error().message().find("upperdir-unknown-lowers"), std::string::npos)
      << bad.error().message();
}

TEST(Json, CompareOptionsTakeEpochAsSecondsOrRfc3339) {
  CompareOptions o;
  o.media_type = media_type::layer_tar;
  o.reference = "ref";
  o.labels = {{"a", "b"}};
  o.source_date_epoch = Timestamp{} + std::chrono::seconds(1'700'000'000);
  auto back = round_trip(o);
  EXPECT_EQ(back.media_type, o.media_type);
  EXPECT_EQ(back.reference, o.reference);
  EXPECT_EQ(back.labels, o.labels);
  EXPECT_EQ(back.source_date_epoch, o.source_date_epoch);
  auto secs = from_json<CompareOptions>(json::parse(R"({"sourceDateEpoch":1700000000})"), "o");
  ASSERT_TRUE(secs.ok());
  EXPECT_EQ(secs->source_date_epoch, o.source_date_epoch);
  auto none = from_json<CompareOptions>(json::parse("{}"), "o");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->source_date_epoch.has_value());
  auto bad = from_json<CompareOptions>(json::parse(R"({"sourceDateEpoch":"yesterday"})"), "o");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("sourceDateEpoch"), std::string::npos);
}

// Seconds that do not fit a nanosecond Timestamp used to wrap (signed overflow: UB, caught by
// the UBSan build); every value out of [0, max_source_date_epoch] is refused, naming the range.
TEST(Json, CompareOptionsRefuseEpochsOutOfRange) {
  for (std::string epoch : {"9223372036854775807", "18446744073709551615", "-9223372036854775808",
                            "-1", "253402300799", "9223372037", R"("9999-12-31T23:59:59Z")",
                            R"("1969-12-31T23:59:59Z")", R"("2262-04-12T00:00:00Z")"}) {
    auto r = from_json<CompareOptions>(json::parse(R"({"sourceDateEpoch":)" + epoch + "}"), "o");
    ASSERT_FALSE(r.ok()) << epoch;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument) << epoch;
    EXPECT_NE(r.error().message().find("sourceDateEpoch"), std::string::npos)
        << r.error().message();
    EXPECT_NE(r.error().message().find("9223372036"), std::string::npos) << r.error().message();
  }
  for (std::string epoch : {"0", "9223372036", R"("2262-04-11T23:47:16Z")"}) {
    auto r = from_json<CompareOptions>(json::parse(R"({"sourceDateEpoch":)" + epoch + "}"), "o");
    ASSERT_TRUE(r.ok()) << epoch << ": " << r.error().to_string();
    EXPECT_TRUE(check_source_date_epoch(*r->source_date_epoch, "o").ok()) << epoch;
  }
  EXPECT_FALSE(source_date_epoch_of(max_source_date_epoch + 1, "x").ok());
  EXPECT_FALSE(source_date_epoch_of(-1, "x").ok());
  EXPECT_FALSE(parse_time("9999-12-31T23:59:59Z")) << "a Timestamp cannot hold year 9999";
}

TEST(Json, KindParsingIsCaseInsensitive) {
  EXPECT_EQ(parse_kind("ACTIVE"), Kind::Active);
  EXPECT_EQ(parse_kind("view"), Kind::View);
  EXPECT_FALSE(parse_kind("frozen"));
  auto bad = from_json<Info>(json::parse(R"({"kind":"frozen","name":"x"})"), "info");
  EXPECT_FALSE(bad.ok());
}

TEST(Json, TimeParsing) {
  EXPECT_TRUE(parse_time("2026-11-23T02:46:09Z"));
  EXPECT_TRUE(parse_time("2026-11-23T02:46:09.5Z"));
  EXPECT_FALSE(parse_time("2026-11-23 02:46:09Z"));
  EXPECT_FALSE(parse_time("2026-11-23T02:46:09+01:00"));
  EXPECT_EQ(format_time(*parse_time("2026-11-23T02:46:09.5Z")), "2026-11-23T02:46:09.500000000Z");
}

TEST(Json, UsageAndMetaAndPlatform) {
  EXPECT_EQ(round_trip(Usage{10, 2}), (Usage{10, 2}));
  Meta m{{Platform{"linux", "arm64", "v8"}}, {{"root", "/r"}}, {"rebase", "remap-ids"}};
  EXPECT_EQ(round_trip(m), m);
  EXPECT_EQ(Platform({"linux", "arm64", "v8"}).to_string(), "linux/arm64/v8");
  auto p = parse_platform("linux/amd64");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->architecture, "amd64");
  EXPECT_FALSE(parse_platform("linux").ok());
  EXPECT_FALSE(parse_platform("linux//v8").ok());
}

TEST(Json, MalformedTextIsInvalidArgument) {
  auto r = parse_json("{not json", "request body");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_NE(r.error().message().find("request body"), std::string::npos);
}

TEST(Errors, CodesHaveNames) {
  EXPECT_EQ(to_string(Code::NotFound), "NotFound");
  EXPECT_EQ(parse_code("FailedPrecondition"), Code::FailedPrecondition);
  EXPECT_FALSE(parse_code("Nope"));
  // Not a NotFound: a parallel unpack retries on the parent only for this one.
  EXPECT_EQ(to_string(Code::NeedsParent), "NeedsParent");
  EXPECT_EQ(needs_parent("x").code(), Code::NeedsParent);
  for (int c = 0; c <= 17; ++c)
    EXPECT_EQ(parse_code(to_string(static_cast<Code>(c))), static_cast<Code>(c));
  Error e(Code::NotFound, "snapshot x");
  EXPECT_EQ(e.wrap("stat").to_string(), "NotFound: stat: snapshot x");
}

TEST(InitResultTest, ThreeOutcomes) {
  struct Dummy : Instance {};
  InitResult ok = std::make_shared<Dummy>();
  EXPECT_TRUE(ok.ok());
  InitResult err = not_found("x");
  EXPECT_TRUE(err.failed());
  auto skip = InitResult::skip("no btrfs");
  EXPECT_TRUE(skip.skipped());
  EXPECT_EQ(skip.skip_reason(), "no btrfs");
}

} // namespace

TEST(Json, ImageRoundTripWithOciFieldNames) {
  strata::Image i;
  i.name = "docker.io/library/alpine:3.19";
  i.target = {strata::media_type::oci_index, "sha256:" + std::string(64, 'a'), 1234, {}};
  i.created = strata::Timestamp{} + std::chrono::seconds(1700000000);
  i.updated = i.created + std::chrono::nanoseconds(5);
  i.labels = {{"team", "x"}};
  i.resolved.platform = {"linux", "arm64", "v8"};
  const std::string manifest_digest = "sha256:" + std::string(64, 'b');
  i.resolved.manifest = {strata::media_type::oci_manifest, manifest_digest, 9, {}};
  i.resolved.config = {strata::media_type::oci_config, "sha256:" + std::string(64, 'c'), 8, {}};
  i.resolved.layers = {
      {strata::media_type::layer_tar_gzip, "sha256:" + std::string(64, 'd'), 7, {}}};
  i.resolved.diff_ids = {"sha256:" + std::string(64, 'e')};
  i.resolved.chain_ids = i.resolved.diff_ids;
  EXPECT_EQ(round_trip(i), i);
  auto v = json::value_from(i);
  EXPECT_EQ(v.at("resolved").at("diffIds").as_array().size(), 1u);
  EXPECT_EQ(v.at("target").at("mediaType").as_string(), strata::media_type::oci_index);
}

TEST(Json, UnpackProgressAndResultRoundTrip) {
  using State = strata::UnpackProgress::State;
  for (State st : {State::Exists, State::Applying, State::Applied, State::Committed}) {
    strata::UnpackProgress p{3, st, 100, 200};
    auto back = round_trip(p);
    EXPECT_EQ(back.layer, 3u);
    EXPECT_EQ(back.state, st);
    EXPECT_EQ(back.bytes, 100u);
    EXPECT_EQ(back.size, 200u);
  }
  EXPECT_EQ(json::value_from(strata::UnpackProgress{0, State::Committed, 1, 1}).at("state"),
            "committed");
  EXPECT_THROW(json::value_to<strata::UnpackProgress>(
                   json::parse(R"({"layer":0,"state":"melted","bytes":0,"size":0})")),
               std::invalid_argument);

  strata::UnpackResult r;
  r.image = "example.com/app:1";
  r.snapshotter = "overlayfs";
  r.chain_id = "sha256:" + std::string(64, 'f');
  r.layers = {{{strata::media_type::layer_tar_gzip, "sha256:" + std::string(64, 'd'), 7, {}},
               "sha256:" + std::string(64, 'e'),
               r.chain_id,
               true}};
  r.parallel = true;
  r.sync_fs = true;
  r.seconds = 1.5;
  EXPECT_EQ(round_trip(r), r);
  auto v = json::value_from(r);
  EXPECT_EQ(v.at("chainId").as_string(), r.chain_id);
  EXPECT_EQ(v.at("layers").at(0).at("diffId").as_string(), r.layers[0].diff_id);
}
