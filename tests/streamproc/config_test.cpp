// parse_processors() and check(): strict config decoding, and a processor that cannot run is
// reported with a reason instead of being looked up somewhere else.
#include "support.hpp"

#include <strata/streamproc/processor.hpp>

#include <unistd.h>

namespace {

using namespace streamproc_test;
using strata::Code;
using strata::streamproc::check;
using strata::streamproc::parse_processors;
namespace json = boost::json;

json::object table(std::string_view text) {
  return json::parse(text).as_object();
}

TEST(StreamprocConfig, ParsesEntriesInOrderWithDefaults) {
  auto r = parse_processors(table(R"({
    "zdec": {"accepts": ["a/enc", "b/enc"], "returns": "a/plain", "path": "/usr/bin/dec",
             "args": ["--keys", "/k"], "env": ["K=V", "EMPTY="]},
    "adec": {"accepts": ["c/enc"], "returns": "c/plain", "path": "/usr/bin/other"}
  })"));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], spec("zdec", {"a/enc", "b/enc"}, "a/plain", "/usr/bin/dec", {"--keys", "/k"},
                          {"K=V", "EMPTY="}));
  EXPECT_EQ((*r)[1], spec("adec", {"c/enc"}, "c/plain", "/usr/bin/other"));
  EXPECT_TRUE(parse_processors(json::object{}));
}

TEST(StreamprocConfig, RejectsBadEntriesNamingTheKey) {
  struct Case {
    const char* text;
    const char* must_contain;
  };
  const Case cases[] = {
      {R"({"d": {"accepts": ["x"], "returns": "y", "path": "/p", "bogus": 1}})",
       "stream_processors.d.bogus is not a known key"},
      {R"({"d": {"accepts": "x", "returns": "y", "path": "/p"}})",
       "stream_processors.d.accepts must be a list of strings"},
      {R"({"d": {"accepts": ["x", 3], "returns": "y", "path": "/p"}})",
       "stream_processors.d.accepts[1] must be a string, not a number"},
      {R"({"d": {"accepts": [], "returns": "y", "path": "/p"}})",
       "stream_processors.d.accepts is empty"},
      {R"({"d": {"accepts": ["x"], "returns": 5, "path": "/p"}})",
       "stream_processors.d.returns must be a string"},
      {R"({"d": {"accepts": ["x"], "path": "/p"}})", "stream_processors.d.returns is missing"},
      {R"({"d": {"accepts": ["x"], "returns": "y"}})", "stream_processors.d.path is missing"},
      {R"({"d": {"returns": "y", "path": "/p"}})", "stream_processors.d.accepts is missing"},
      {R"({"d": {"accepts": ["x"], "returns": "y", "path": ""}})",
       "stream_processors.d.path is empty"},
      {R"({"d": {"accepts": ["x"], "returns": "y", "path": "/p", "args": [true]}})",
       "stream_processors.d.args[0] must be a string, not a boolean"},
      {R"({"d": {"accepts": ["x"], "returns": "y", "path": "/p", "env": ["NOEQUALS"]}})",
       "stream_processors.d.env[0] is \"NOEQUALS\", not a \"NAME=value\" entry"},
      {R"({"d": {"accepts": ["x"], "returns": "y", "path": "/p", "env": ["=v"]}})",
       "stream_processors.d.env[0]"},
      {R"({"d": {"accepts": ["x"], "returns": "y", "path": "/p",
                 "env": ["A=1", "STREAM_PROCESSOR_MEDIATYPE=z"]}})",
       "stream_processors.d.env[1] sets STREAM_PROCESSOR_MEDIATYPE"},
      {R"({"d": {"accepts": ["x"], "returns": "y", "path": "/p", "env": {"A": "1"}}})",
       "stream_processors.d.env must be a list of strings, e.g."},
      {R"({"d": ["x"]})", "stream_processors.d must be a table"},
      {R"({"": {"accepts": ["x"], "returns": "y", "path": "/p"}})", "empty id"},
  };
  for (const auto& c : cases) {
    auto r = parse_processors(table(c.text));
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument) << c.text;
    EXPECT_NE(r.error().message().find(c.must_contain), std::string::npos)
        << c.text << "\n  got: " << r.error().message() << "\n  want: " << c.must_contain;
  }
  // A NUL byte cannot reach execve.
  json::object t;
  t["d"] = json::object{{"accepts", json::array{"x"}},
                        {"returns", "y"},
                        {"path", json::string(std::string_view("/p\0q", 4))}};
  auto r = parse_processors(t);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("stream_processors.d.path contains a NUL byte"),
            std::string::npos);
}

TEST(StreamprocConfig, RelativePathIsUnavailableAndNeverLookedUp) {
  TempDir dir;
  // A tempting binary in the current directory and one on PATH must both be ignored.
  dir.script("decoder", "/bin/echo hijacked");
  char old_cwd[4096];
  ASSERT_NE(::getcwd(old_cwd, sizeof old_cwd), nullptr);
  ASSERT_EQ(::chdir(dir.path().c_str()), 0);
  struct Restore {
    const char* cwd;
    ~Restore() {
      if (::chdir(cwd) != 0)
        ADD_FAILURE() << "cannot restore the working directory";
    }
  } restore{old_cwd};

  for (std::string rel : {"decoder", "./decoder", "cat"}) {
    auto s = check(spec("dec", {"x/enc"}, kTar, rel));
    ASSERT_FALSE(s) << rel;
    EXPECT_EQ(s.error().code(), Code::Unavailable);
    EXPECT_NE(
        s.error().message().find("stream_processors.dec.path is \"" + rel + "\", a relative path"),
        std::string::npos)
        << s.error().message();

    auto chain = strata::streamproc::build_chain({spec("dec", {"x/enc"}, kTar, rel)}, "x/enc",
                                                 memory_source("data"));
    ASSERT_TRUE(chain) << chain.error().to_string();
    EXPECT_EQ(chain->media_type(), "x/enc");
    EXPECT_TRUE(chain->processors().empty());
    ASSERT_EQ(chain->unavailable().size(), 1u);
    EXPECT_NE(chain->unavailable()[0].find("relative path"), std::string::npos);
    auto out = drain(chain->source());
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, "data"); // the input, untouched: nothing ran
  }
  expect_no_children();
}

TEST(StreamprocConfig, MissingBinaryIsUnavailable) {
  TempDir dir;
  auto s = check(spec("dec", {"x"}, kTar, dir.path() + "/nope"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::Unavailable);
  EXPECT_NE(s.error().message().find("stream_processors.dec.path: " + dir.path() +
                                     "/nope does not exist"),
            std::string::npos)
      << s.error().message();
}

TEST(StreamprocConfig, NonExecutableDirectoryAndWritableAreUnavailable) {
  TempDir dir;
  auto plain = dir.script("plain", "exit 0", 0644);
  auto s = check(spec("dec", {"x"}, kTar, plain));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::Unavailable);
  EXPECT_NE(s.error().message().find("is not executable (mode 0644)"), std::string::npos)
      << s.error().message();

  s = check(spec("dec", {"x"}, kTar, dir.path()));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("is a directory"), std::string::npos) << s.error().message();

  auto shared = dir.script("shared", "exit 0", 0777);
  s = check(spec("dec", {"x"}, kTar, shared));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("writable by group or others (mode 0777)"), std::string::npos)
      << s.error().message();

  auto good = dir.script("good", "exit 0", 0755);
  EXPECT_TRUE(check(spec("dec", {"x"}, kTar, good)));
  EXPECT_TRUE(check(spec("cat", {"x"}, kTar, "/bin/cat")));
}

TEST(StreamprocConfig, UnavailableProcessorFallsThroughToTheNextOne) {
  TempDir dir;
  auto chain =
      strata::streamproc::build_chain({spec("broken", {"x/enc"}, kTar, dir.path() + "/missing"),
                                       spec("cat", {"x/enc"}, kTar, "/bin/cat")},
                                      "x/enc", memory_source("payload"));
  ASSERT_TRUE(chain) << chain.error().to_string();
  EXPECT_EQ(chain->processors(), std::vector<std::string>{"cat"});
  EXPECT_EQ(chain->media_type(), kTar);
  ASSERT_EQ(chain->unavailable().size(), 1u);
  EXPECT_NE(chain->unavailable()[0].find("does not exist"), std::string::npos);
  auto out = drain(chain->source());
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out, "payload");
  chain->close();
  expect_no_children();
}

} // namespace
