// build_chain() with real binaries: gzip and cat as processors, and shell scripts for every way
// a processor can fail. Each test also checks that no child process is left behind.
#include "support.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace {

using namespace streamproc_test;
using strata::Code;
using strata::streamproc::build_chain;
using strata::streamproc::ChainOptions;
using strata::streamproc::ProcessorSpec;

ChainOptions quick(std::chrono::milliseconds idle = std::chrono::seconds(30)) {
  ChainOptions o;
  o.idle_timeout = idle;
  return o;
}

// Gzip-compresses `data` by running `gzip -c -n` as a processor.
std::string gzipped(const std::string& data) {
  auto chain = build_chain({spec("gz", {"x/raw"}, kTarGzip, "/usr/bin/gzip", {"-c", "-n"})},
                           "x/raw", memory_source(data), quick());
  EXPECT_TRUE(chain);
  if (!chain)
    return {};
  auto out = drain(chain->source());
  EXPECT_TRUE(out) << out.error().to_string();
  return out ? *out : std::string();
}

bool contains(const strata::Error& e, std::string_view s) {
  return e.message().find(s) != std::string::npos;
}

TEST(StreamprocChain, GunzipTurnsTarGzipIntoTar) {
  const std::string data = pattern(3 << 20);
  const std::string gz = gzipped(data);
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);

  auto chain = build_chain({spec("gunzip", {kTarGzip}, kTar, "/usr/bin/gzip", {"-d"})}, kTarGzip,
                           memory_source(gz, 1000), quick());
  ASSERT_TRUE(chain) << chain.error().to_string();
  EXPECT_EQ(chain->media_type(), kTar);
  EXPECT_EQ(chain->processors(), std::vector<std::string>{"gunzip"});
  auto out = drain(chain->source());
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(out->size(), data.size());
  EXPECT_TRUE(*out == data);
  // Reads after the end keep saying "end".
  std::byte b[8];
  auto again = chain->source()(b);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
  chain->close();
  expect_no_children();
}

TEST(StreamprocChain, TwoProcessorsInARow) {
  const std::string data = pattern(1 << 20);
  auto chain = build_chain({spec("gunzip", {kTarGzip}, kTar, "/usr/bin/gzip", {"-d"}),
                            spec("gz", {"x/raw"}, kTarGzip, "/usr/bin/gzip", {"-c", "-n"})},
                           "x/raw", memory_source(data), quick());
  ASSERT_TRUE(chain) << chain.error().to_string();
  EXPECT_EQ(chain->processors(), (std::vector<std::string>{"gz", "gunzip"}));
  EXPECT_EQ(chain->media_type(), kTar);
  auto out = drain(chain->source());
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_TRUE(*out == data);
  chain->close();
  expect_no_children();
}

TEST(StreamprocChain, CatAsAProcessorAndTheFirstMatchWins) {
  TempDir dir;
  auto never = dir.script("never", "echo should-not-run; exit 1");
  auto chain =
      build_chain({spec("cat", {"x/foo"}, kTar, "/bin/cat"), spec("never", {"x/foo"}, kTar, never)},
                  "x/foo", memory_source(pattern(200000), 777), quick());
  ASSERT_TRUE(chain) << chain.error().to_string();
  EXPECT_EQ(chain->processors(), std::vector<std::string>{"cat"});
  auto out = drain(chain->source());
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_TRUE(*out == pattern(200000));
}

TEST(StreamprocChain, NoProcessorForTheMediaTypeIsAPassthrough) {
  auto chain = build_chain({spec("cat", {"x/foo"}, kTar, "/bin/cat")}, "x/unknown",
                           memory_source("abc"), quick());
  ASSERT_TRUE(chain) << chain.error().to_string();
  EXPECT_EQ(chain->media_type(), "x/unknown");
  EXPECT_TRUE(chain->processors().empty());
  EXPECT_TRUE(chain->unavailable().empty());
  auto out = drain(chain->source());
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "abc");

  // A plain layer tar ends the chain even when some processor accepts it.
  chain = build_chain({spec("cat", {kTar}, kTar, "/bin/cat")}, kTar, memory_source("t"), quick());
  ASSERT_TRUE(chain);
  EXPECT_TRUE(chain->processors().empty());
  EXPECT_EQ(chain->media_type(), kTar);

  // Stopping halfway: x/a -> x/b, and nobody takes x/b.
  chain =
      build_chain({spec("cat", {"x/a"}, "x/b", "/bin/cat")}, "x/a", memory_source("mid"), quick());
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->media_type(), "x/b");
  out = drain(chain->source());
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "mid");
  chain->close();
  expect_no_children();
}

TEST(StreamprocChain, LoopIsRefused) {
  auto chain =
      build_chain({spec("ab", {"x/a"}, "x/b", "/bin/cat"), spec("bc", {"x/b"}, "x/c", "/bin/cat"),
                   spec("ca", {"x/c"}, "x/a", "/bin/cat")},
                  "x/a", memory_source("abc"), quick());
  ASSERT_FALSE(chain);
  EXPECT_EQ(chain.error().code(), Code::InvalidArgument);
  EXPECT_TRUE(contains(chain.error(), "loop: x/a -> (ab) x/b -> (bc) x/c -> (ca) x/a"))
      << chain.error().message();
  EXPECT_TRUE(contains(chain.error(), "stream_processors.ca.returns"));

  auto self =
      build_chain({spec("same", {"x/a"}, "x/a", "/bin/cat")}, "x/a", memory_source("a"), quick());
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().code(), Code::InvalidArgument);
  // The processors started before the loop was found are gone.
  expect_no_children();
}

TEST(StreamprocChain, NonZeroExitReportsStderrEveryTime) {
  TempDir dir;
  // Closing stdout before writing the reason and exiting is exactly the window in which an
  // implementation that reads the error before waiting for the exit loses it.
  auto fail = dir.script("fail", "/bin/cat >/dev/null\nexec 1>&-\n"
                                 "echo \"bad key: no recipient for this layer\" >&2\nexit 3");
  for (int i = 0; i < 200; ++i) {
    auto chain = build_chain({spec("dec", {"x/enc"}, kTar, fail)}, "x/enc", memory_source("cipher"),
                             quick());
    ASSERT_TRUE(chain) << chain.error().to_string();
    auto out = drain(chain->source());
    ASSERT_FALSE(out) << "iteration " << i;
    EXPECT_EQ(out.error().code(), Code::InvalidArgument);
    ASSERT_TRUE(contains(out.error(), "bad key: no recipient for this layer"))
        << "iteration " << i << ": " << out.error().message();
    EXPECT_TRUE(contains(out.error(), "stream processor \"dec\" (" + fail + ") on x/enc"));
    EXPECT_TRUE(contains(out.error(), "exited with status 3"));
    // The failure is sticky.
    std::byte b[4];
    auto again = chain->source()(b);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message(), out.error().message());
  }
  expect_no_children();
}

TEST(StreamprocChain, KilledBySignalIsReported) {
  TempDir dir;
  auto crash = dir.script("crash", "/bin/cat >/dev/null\necho \"about to die\" >&2\nkill -KILL $$");
  auto chain =
      build_chain({spec("dec", {"x/enc"}, kTar, crash)}, "x/enc", memory_source("x"), quick());
  ASSERT_TRUE(chain);
  auto out = drain(chain->source());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::Internal);
  EXPECT_TRUE(contains(out.error(), "killed by signal 9 (SIGKILL)")) << out.error().message();
  EXPECT_TRUE(contains(out.error(), "about to die"));
  EXPECT_TRUE(contains(out.error(), "\"dec\""));
  chain->close();
  expect_no_children();
}

// Whether the process with this pid is gone (or only a zombie awaiting a reaper).
bool dead(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  if (!stat)
    return true;
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] == 'Z' ||
         line[close + 2] == 'X';
}

void expect_dies(const std::string& pid_file) {
  std::ifstream in(pid_file);
  std::string pid;
  ASSERT_TRUE(in >> pid) << "the script did not record its child's pid";
  // SIGKILL is delivered asynchronously; allow generous time, assert only the outcome.
  for (int i = 0; i < 1000 && !dead(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(dead(pid)) << "the processor's child " << pid << " survived";
}

TEST(StreamprocChain, HungProcessorIsKilledAfterTheIdleTimeout) {
  TempDir dir;
  // A shell that waits on a forked sleep: killing only the shell would leave the sleep holding
  // stdout open, so the whole process group must go.
  auto hang = dir.script("hang", "/bin/sleep 60 &\necho $! > \"$DIR/pid\"\nwait");
  auto chain = build_chain({spec("hang", {"x/enc"}, kTar, hang, {}, {"DIR=" + dir.path()})},
                           "x/enc", memory_source("x"), quick(std::chrono::milliseconds(300)));
  ASSERT_TRUE(chain);
  auto out = drain(chain->source());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DeadlineExceeded);
  EXPECT_TRUE(contains(out.error(), "stream processor \"hang\"")) << out.error().message();
  EXPECT_TRUE(contains(out.error(), "produced no output and took no input for 300 ms and was "
                                    "killed"))
      << out.error().message();
  chain->close();
  expect_no_children();
  expect_dies(dir.path() + "/pid");
}

TEST(StreamprocChain, ProcessorThatClosesStdoutButDoesNotExitIsKilled) {
  TempDir dir;
  auto linger = dir.script("linger", "/bin/cat >/dev/null\nexec 1>&-\nexec /bin/sleep 60");
  auto chain = build_chain({spec("linger", {"x/enc"}, kTar, linger)}, "x/enc", memory_source("x"),
                           quick(std::chrono::milliseconds(300)));
  ASSERT_TRUE(chain);
  auto out = drain(chain->source());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DeadlineExceeded);
  EXPECT_TRUE(contains(out.error(), "closed its output but did not exit")) << out.error().message();
  chain->close();
  expect_no_children();
}

TEST(StreamprocChain, SlowInputIsNotBlamedOnTheProcessor) {
  // The processor waits 600 ms for its input with a 300 ms idle limit: it is starved, not hung.
  auto step = std::make_shared<int>(0);
  strata::contentio::Source slow = [step](std::span<std::byte> buf) -> strata::Result<std::size_t> {
    const char* parts[] = {"abc", "def"};
    if (*step >= 2)
      return std::size_t{0};
    if (*step == 1)
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
    std::memcpy(buf.data(), parts[*step], 3);
    ++*step;
    return std::size_t{3};
  };
  auto chain = build_chain({spec("cat", {"x/enc"}, kTar, "/bin/cat")}, "x/enc", slow,
                           quick(std::chrono::milliseconds(300)));
  ASSERT_TRUE(chain);
  auto out = drain(chain->source());
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out, "abcdef");
}

TEST(StreamprocChain, GarbageOutputFailsTheNextProcessor) {
  TempDir dir;
  auto garbage = dir.script("garbage", "/bin/cat >/dev/null\nprintf 'this is not gzip at all'");
  auto chain = build_chain({spec("gunzip", {kTarGzip}, kTar, "/usr/bin/gzip", {"-d"}),
                            spec("garbage", {"x/enc"}, kTarGzip, garbage)},
                           "x/enc", memory_source(pattern(100000)), quick());
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->processors(), (std::vector<std::string>{"garbage", "gunzip"}));
  auto out = drain(chain->source());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::InvalidArgument);
  EXPECT_TRUE(contains(out.error(), "stream processor \"gunzip\"")) << out.error().message();
  EXPECT_TRUE(contains(out.error(), "not in gzip format")) << out.error().message();
  chain->close();
  expect_no_children();
}

TEST(StreamprocChain, ProcessorThatReadsNothingIsDataLoss) {
  TempDir dir;
  auto lazy = dir.script("lazy", "printf 'made up'");
  // Far more than a pipe holds, so the unread input cannot hide in the pipe buffer.
  auto chain = build_chain({spec("lazy", {"x/enc"}, kTar, lazy)}, "x/enc",
                           memory_source(pattern(4 << 20)), quick());
  ASSERT_TRUE(chain);
  auto out = drain(chain->source());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DataLoss);
  EXPECT_TRUE(contains(out.error(), "without reading all of its input")) << out.error().message();
  chain->close();
  expect_no_children();
}

TEST(StreamprocChain, InputErrorIsPassedOnUnchanged) {
  auto sent = std::make_shared<bool>(false);
  strata::contentio::Source broken =
      [sent](std::span<std::byte> buf) -> strata::Result<std::size_t> {
    if (*sent)
      return strata::Error(Code::DataLoss, "blob sha256:abc is truncated");
    *sent = true;
    buf[0] = std::byte{'x'};
    return std::size_t{1};
  };
  auto chain = build_chain({spec("cat", {"x/enc"}, kTar, "/bin/cat")}, "x/enc", broken, quick());
  ASSERT_TRUE(chain);
  auto out = drain(chain->source());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DataLoss);
  EXPECT_EQ(out.error().message(), "blob sha256:abc is truncated");

  // A source that claims more than it was asked for.
  strata::contentio::Source liar = [](std::span<std::byte> buf) -> strata::Result<std::size_t> {
    return buf.size() + 1;
  };
  chain = build_chain({spec("cat", {"x/enc"}, kTar, "/bin/cat")}, "x/enc", liar, quick());
  ASSERT_TRUE(chain);
  out = drain(chain->source());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DataLoss);
  chain->close();
  expect_no_children();
}

TEST(StreamprocChain, EarlyCloseKillsAndReapsEveryChild) {
  TempDir dir;
  // An endless input through two processors; the consumer reads a little and gives up.
  strata::contentio::Source endless = [](std::span<std::byte> buf) -> strata::Result<std::size_t> {
    std::memset(buf.data(), 'z', buf.size());
    return buf.size();
  };
  auto sticky = dir.script("sticky", "/bin/sleep 60 &\necho $! > \"$DIR/pid\"\nexec /bin/cat");
  auto chain = build_chain({spec("cat", {"x/a"}, "x/b", "/bin/cat"),
                            spec("sticky", {"x/b"}, kTar, sticky, {}, {"DIR=" + dir.path()})},
                           "x/a", endless, quick());
  ASSERT_TRUE(chain);
  std::vector<std::byte> buf(100000);
  std::size_t got = 0;
  while (got < (1u << 20)) {
    auto n = chain->source()(buf);
    ASSERT_TRUE(n) << n.error().to_string();
    ASSERT_GT(*n, 0u);
    got += *n;
  }
  EXPECT_FALSE(children().empty());
  chain->close();
  expect_no_children();
  expect_dies(dir.path() + "/pid");
  auto after = chain->source()(buf);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), Code::Cancelled);

  // Destroying without close() does the same.
  {
    auto c = build_chain({spec("cat", {"x/a"}, kTar, "/bin/cat")}, "x/a", endless, quick());
    ASSERT_TRUE(c);
    auto n = c->source()(buf);
    ASSERT_TRUE(n);
  }
  expect_no_children();
}

TEST(StreamprocChain, EnvironmentIsExactlyTheConfiguredOnePlusTheMediaType) {
  auto chain = build_chain({spec("env", {"x/enc"}, kTar, "/usr/bin/env", {}, {"FOO=bar", "E="})},
                           "x/enc", memory_source(""), quick());
  ASSERT_TRUE(chain);
  auto out = drain(chain->source());
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out, "FOO=bar\nE=\nSTREAM_PROCESSOR_MEDIATYPE=x/enc\n");
}

TEST(StreamprocChain, PayloadArrivesOnFd3) {
  TempDir dir;
  auto reader = dir.script("reader", "/bin/cat >/dev/null\n/bin/cat <&3");
  ChainOptions o = quick();
  o.payloads["reader"] = "key material";
  o.payloads["other"] = "not for it";
  auto chain =
      build_chain({spec("reader", {"x/enc"}, kTar, reader)}, "x/enc", memory_source("cipher"), o);
  ASSERT_TRUE(chain);
  auto out = drain(chain->source());
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out, "key material");

  // Without a payload fd 3 is closed.
  auto probe = dir.script("probe", "/bin/cat >/dev/null\n"
                                   "if [ -e /proc/$$/fd/3 ]; then echo open; else echo closed; fi");
  chain =
      build_chain({spec("probe", {"x/enc"}, kTar, probe)}, "x/enc", memory_source("c"), quick());
  ASSERT_TRUE(chain);
  out = drain(chain->source());
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out, "closed\n");
}

TEST(StreamprocChain, ChildGetsOnlyItsStandardDescriptors) {
  // A descriptor the caller forgot to mark close-on-exec must still not reach the processor.
  int leaky = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 0);
  auto chain = build_chain({spec("ls", {"x/enc"}, kTar, "/bin/ls", {"-l", "/proc/self/fd"})},
                           "x/enc", memory_source(""), quick());
  ASSERT_TRUE(chain);
  auto out = drain(chain->source());
  ::close(leaky);
  ASSERT_TRUE(out) << out.error().to_string();
  std::istringstream lines(*out);
  std::string line;
  int std_fds = 0;
  while (std::getline(lines, line)) {
    auto arrow = line.find(" -> ");
    if (arrow == std::string::npos)
      continue;
    auto sp = line.rfind(' ', arrow - 1);
    int fd = std::stoi(line.substr(sp + 1, arrow - sp - 1));
    if (fd <= 2) {
      ++std_fds;
      continue;
    }
    // Only the directory ls itself opened to list.
    EXPECT_NE(line.find("/proc/"), std::string::npos) << "inherited: " << line;
  }
  EXPECT_EQ(std_fds, 3) << *out;
}

TEST(StreamprocChain, NoDescriptorLeaks) {
  TempDir dir;
  auto fail = dir.script("fail", "/bin/cat >/dev/null\necho nope >&2\nexit 1");
  auto hang = dir.script("hang", "exec /bin/sleep 60");
  const std::size_t before = open_fds();
  {
    auto ok = build_chain({spec("gz", {"x/raw"}, kTarGzip, "/usr/bin/gzip", {"-c", "-n"}),
                           spec("gunzip", {kTarGzip}, kTar, "/usr/bin/gzip", {"-d"})},
                          "x/raw", memory_source(pattern(300000)), quick());
    ASSERT_TRUE(ok);
    ASSERT_TRUE(drain(ok->source()));
  }
  {
    auto bad =
        build_chain({spec("fail", {"x/enc"}, kTar, fail)}, "x/enc", memory_source("x"), quick());
    ASSERT_TRUE(bad);
    ASSERT_FALSE(drain(bad->source()));
  }
  {
    auto slow = build_chain({spec("hang", {"x/enc"}, kTar, hang)}, "x/enc", memory_source("x"),
                            quick(std::chrono::milliseconds(300)));
    ASSERT_TRUE(slow);
    ASSERT_FALSE(drain(slow->source()));
  }
  {
    auto early = build_chain({spec("cat", {"x/enc"}, kTar, "/bin/cat")}, "x/enc",
                             memory_source(pattern(1 << 20)), quick());
    ASSERT_TRUE(early);
    std::byte b[10];
    ASSERT_TRUE(early->source()(b));
  }
  {
    ChainOptions o = quick();
    o.payloads["cat"] = "p";
    auto loop = build_chain(
        {spec("cat", {"x/a"}, "x/b", "/bin/cat"), spec("back", {"x/b"}, "x/a", "/bin/cat")}, "x/a",
        memory_source("x"), o);
    ASSERT_FALSE(loop);
  }
  {
    auto missing = build_chain({spec("m", {"x/enc"}, kTar, dir.path() + "/missing")}, "x/enc",
                               memory_source("x"), quick());
    ASSERT_TRUE(missing);
  }
  EXPECT_EQ(open_fds(), before);
  expect_no_children();
}

TEST(StreamprocChain, UnstartableBinaryIsUnavailable) {
  TempDir dir;
  // Executable bits but no #! line and not an ELF file: execve refuses it.
  const std::string p = dir.path() + "/noshebang";
  {
    std::ofstream out(p);
    out << "\x01\x02garbage";
  }
  ASSERT_EQ(::chmod(p.c_str(), 0755), 0);
  auto chain = build_chain({spec("bad", {"x/enc"}, kTar, p)}, "x/enc", memory_source("x"), quick());
  ASSERT_FALSE(chain);
  EXPECT_EQ(chain.error().code(), Code::Unavailable);
  EXPECT_TRUE(contains(chain.error(), "cannot start " + p)) << chain.error().message();
  expect_no_children();
}

} // namespace
