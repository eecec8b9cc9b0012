// The HTML report in a real browser: headless Chromium (the Debian package scripts/setup.sh
// installs) loads each golden report and one made from a fresh run of
// examples/media-rollback, and the test fails when the page logs a console error (a
// console.error or console.assert, an uncaught exception, a resource that failed to load) or
// when a section the report must have is missing or not rendered (display: none, zero size).
//
// Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: it reads
// commands on fd 3 and writes replies and events on fd 4, each a JSON text ended by a NUL), so
// the test needs no WebSocket client and no package from outside Debian. Console messages are
// read as protocol events, with their level: Chromium's own --enable-logging=stderr logs every
// console message at INFO, whatever its level, so its log cannot tell an error from a log.
//
// Every browser is killed (SIGKILL to its process group) 60 s after it started, whatever it
// is doing. Without Chromium the test fails; it never skips.
//
// BACKOUT_REPORT_SCREENSHOT=FILE makes the golden test of approved-by-another
// (--gtest_filter='*approvedbyanother') also write a full-page PNG of that report, 1280 px
// wide: the picture in docs/report.md.
#include <algorithm>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr auto kBrowserLimit = std::chrono::seconds(60);

// What the HTML report must show (report/render_html.cc, report/document.cc): the top-level
// sections in this order, by their <h2> (and id where the renderer gives one), the
// post-mortem's sub-sections by their <h3>, and the headline tiles.
struct ExpectedSection {
  std::string heading;
  std::string id;  // "" where render_html.cc gives the section none
  // Rendered only when the run journaled what it reports (Preflight and Step logs: runs from
  // before preflight and log digests existed, the golden fixtures among them, have none).
  bool only_when_journaled = false;
};
const std::vector<ExpectedSection> kSections = {
    {"Run summary", "run-summary"},
    {"Post-mortem", "post-mortem"},
    {"Steps", ""},
    {"Preflight", "", true},
    {"Approvals and resolves", ""},
    {"Verification", ""},
    {"Backups", ""},
    {"Restores", ""},
    {"Errors", ""},
    {"Interruptions", ""},
    {"Operator notes", ""},
    {"Event timeline", ""},
    {"Step logs", "", true},
    {"Integrity", ""},
};
// How many of kSections a report shows: all of them for a run that journaled everything
// optional, else only those always shown.
std::size_t SectionCount(bool journaled_everything) {
  return static_cast<std::size_t>(
      std::count_if(kSections.begin(), kSections.end(), [&](const ExpectedSection& s) {
        return journaled_everything || !s.only_when_journaled;
      }));
}

const std::vector<std::string> kPostMortem = {
    "Summary",    "Impact",   "Trigger and root cause", "Detection",
    "Resolution", "Timeline", "Action items"};
const std::vector<std::string> kTiles = {"Outcome", "Total time", "Downtime", "Steps succeeded",
                                         "Interruptions"};

// Read from the rendered page, after layout: what is there and whether it takes up room.
constexpr std::string_view kInspectPage = R"js((() => {
  const shown = (e) => {
    if (!e) return false;
    const box = e.getBoundingClientRect(), style = getComputedStyle(e);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' &&
           style.display !== 'none' && style.opacity !== '0';
  };
  const text = (e) => e ? e.textContent.trim() : '';
  const main = document.querySelector('main');
  const chart = document.querySelector('section figure svg');
  return {
    title: document.title,
    h1: text(document.querySelector('header.hero h1')),
    h1_shown: shown(document.querySelector('header.hero h1')),
    tiles: [...document.querySelectorAll('.tiles .tile')].filter(shown)
               .map((t) => text(t.querySelector('.label'))),
    sections: [...(main ? main.querySelectorAll(':scope > section') : [])].map((s) => ({
      id: s.id,
      heading: text(s.querySelector('h2')),
      shown: shown(s) && shown(s.querySelector('h2')),
      subheadings: [...s.querySelectorAll('h3')].filter(shown).map(text),
    })),
    chart_shown: shown(chart),
    chart_bars: chart ? chart.querySelectorAll('g rect').length : 0,
    footer: text(document.querySelector('footer')),
    text: document.body ? document.body.innerText : '',
    height: document.documentElement.scrollHeight,
  };
})())js";

// Holds on until the page has loaded and two frames and a timer have passed, so that what
// runs late (a timer, a failed image) has reported before the page is read; answers the
// page's address.
constexpr std::string_view kSettle = R"js(new Promise((done) => {
  const settled = () => requestAnimationFrame(() => requestAnimationFrame(() =>
      setTimeout(() => done(location.href), 50)));
  if (document.readyState === 'complete') settled();
  else addEventListener('load', settled);
}))js";

std::string Base64Decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) continue;  // padding
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string Tail(const std::string& text, std::size_t n = 3000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

// One headless Chromium with a fresh profile, spoken to over the DevTools pipe.
class Chromium {
 public:
  Chromium() : started_(std::chrono::steady_clock::now()) {
    const std::string binary = BACKOUT_CHROMIUM;
    if (binary.ends_with("NOTFOUND") || access(binary.c_str(), X_OK) != 0) {
      throw std::runtime_error("chromium not found (" + binary +
                               "): scripts/setup.sh installs the Debian package `chromium`");
    }
    signal(SIGPIPE, SIG_IGN);  // a browser that died shows as EPIPE, not as our death
    int to_browser[2], from_browser[2];
    if (pipe2(to_browser, O_CLOEXEC) != 0 || pipe2(from_browser, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    const std::string profile = "--user-data-dir=" + (tmp_.path() / "profile").string();
    const std::vector<std::string> args = {
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--mute-audio", "--hide-scrollbars", "--window-size=1280,900",
        profile, "--remote-debugging-pipe", "about:blank"};
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::string log = (tmp_.path() / "chromium.log").string();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      setpgid(0, 0);  // its own group, so that its helpers die with it
      // Out of the way first: a pipe end may itself be fd 3 or 4.
      const int in = fcntl(to_browser[0], F_DUPFD, 10);
      const int out = fcntl(from_browser[1], F_DUPFD, 10);
      const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int null_fd = open("/dev/null", O_RDONLY);
      if (in < 0 || out < 0 || log_fd < 0 || null_fd < 0) _exit(126);
      dup2(null_fd, 0);
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      dup2(in, 3);
      dup2(out, 4);
      execv(argv[0], argv.data());
      _exit(127);
    }
    setpgid(pid_, pid_);  // also from here, whichever of the two runs first
    close(to_browser[0]);
    close(from_browser[1]);
    to_ = to_browser[1];
    from_ = from_browser[0];
  }

  ~Chromium() {
    if (pid_ > 0) {
      try {
        Send("Browser.close", json::object(), "");
      } catch (...) {
      }
      // Up to 5 s to close on its own, then SIGKILL to the whole group either way.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (waitpid(pid_, nullptr, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline) {
        usleep(20'000);
      }
      Kill();
    }
    if (to_ >= 0) close(to_);
    if (from_ >= 0) close(from_);
  }

  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  // Sends a command and reads until its reply; events read meanwhile are kept in events().
  // Throws on a protocol error, on the browser's exit, and past the 60 s limit (killing it).
  json Call(const std::string& method, const json& params, const std::string& session) {
    const int id = Send(method, params, session);
    for (;;) {
      json message = Read();
      if (message.contains("id") && message["id"] == id) {
        if (message.contains("error")) {
          throw std::runtime_error(method + " failed: " + message["error"].dump());
        }
        return message.value("result", json::object());
      }
      if (message.contains("method")) events_.push_back(std::move(message));
    }
  }

  // Reads until an event named `method` for `session` is among events() from index `from` on.
  json WaitForEvent(const std::string& method, const std::string& session, std::size_t from) {
    for (std::size_t seen = from;;) {
      for (; seen < events_.size(); ++seen) {
        const json& e = events_[seen];
        if (e["method"] == method && e.value("sessionId", "") == session) return e;
      }
      json message = Read();
      if (message.contains("method")) events_.push_back(std::move(message));
    }
  }

  const std::vector<json>& events() const { return events_; }

  // The end of its log, less the complaints about the D-Bus it does not need (and no
  // machine here has).
  std::string Log() const {
    std::istringstream in(ReadFile(tmp_.path() / "chromium.log"));
    std::string out;
    for (std::string line; std::getline(in, line);) {
      if (line.find("dbus") == std::string::npos) out += line + "\n";
    }
    return "--- chromium's log\n" + Tail(out);
  }

 private:
  void Kill() {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  int Send(const std::string& method, const json& params, const std::string& session) {
    json message = {{"id", ++next_id_}, {"method", method}, {"params", params}};
    if (!session.empty()) message["sessionId"] = session;
    std::string text = message.dump();
    text.push_back('\0');
    for (std::size_t at = 0; at < text.size();) {
      const ssize_t n = write(to_, text.data() + at, text.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("chromium is gone (write failed)\n" + Log());
      at += static_cast<std::size_t>(n);
    }
    return next_id_;
  }

  json Read() {
    for (;;) {
      const std::size_t end = buffer_.find('\0');
      if (end != std::string::npos) {
        json message = json::parse(buffer_.substr(0, end));
        buffer_.erase(0, end + 1);
        return message;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          started_ + kBrowserLimit - std::chrono::steady_clock::now());
      pollfd p{from_, POLLIN, 0};
      const int ready = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        const std::string log = Log();
        Kill();
        throw std::runtime_error("chromium did not finish within 60 s: killed\n" + log);
      }
      char chunk[65536];
      const ssize_t n = read(from_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("chromium exited\n" + Log());
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  std::chrono::steady_clock::time_point started_;
  TempDir tmp_;
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  int next_id_ = 0;
  std::string buffer_;
  std::vector<json> events_;
};

// What the browser saw of one page.
struct PageCheck {
  std::vector<std::string> console_errors;
  std::vector<std::string> missing;
  json page;  // kInspectPage's answer
};

std::string Describe(const json& remote_object) {
  if (remote_object.contains("value")) {
    const json& v = remote_object["value"];
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  return remote_object.value("description", remote_object.value("type", "?"));
}

// The console errors among the events of `session`: console.error and failed
// console.assert calls, uncaught exceptions, and the browser's own error-level entries
// (a resource that failed to load, a blocked request, ...).
std::vector<std::string> ConsoleErrors(const std::vector<json>& events,
                                       const std::string& session) {
  std::vector<std::string> out;
  for (const json& e : events) {
    if (e.value("sessionId", "") != session) continue;
    const std::string method = e["method"];
    const json& p = e["params"];
    if (method == "Runtime.consoleAPICalled" && (p["type"] == "error" || p["type"] == "assert")) {
      std::string line = "console." + p["type"].get<std::string>() + ":";
      for (const json& arg : p["args"]) line += " " + Describe(arg);
      out.push_back(line);
    } else if (method == "Runtime.exceptionThrown") {
      const json& d = p["exceptionDetails"];
      out.push_back("uncaught: " +
                    (d.contains("exception") ? Describe(d["exception"]) : d.value("text", "")));
    } else if (method == "Log.entryAdded" && p["entry"]["level"] == "error") {
      const json& entry = p["entry"];
      out.push_back("log (" + entry.value("source", "") + "): " + entry.value("text", "") + " " +
                    entry.value("url", ""));
    } else if (method == "Inspector.targetCrashed") {
      out.push_back("the page crashed");
    }
  }
  return out;
}

// Every section, sub-section and tile the report must show, rendered; what lacks is named.
std::vector<std::string> MissingParts(const json& page) {
  std::vector<std::string> missing;
  if (!page["h1_shown"].get<bool>() ||
      !page["h1"].get<std::string>().starts_with("Rollback report")) {
    missing.push_back("the title (h1 \"Rollback report: ...\")");
  }
  std::size_t tile = 0;
  for (const std::string& want : kTiles) {
    const json& tiles = page["tiles"];
    while (tile < tiles.size() && tiles[tile] != want) ++tile;
    if (tile == tiles.size()) {
      missing.push_back("tile \"" + want + "\"");
      tile = 0;
    }
  }
  // The sections in order; a section counts only when rendered with room on the page.
  const json& sections = page["sections"];
  std::size_t at = 0;
  for (const ExpectedSection& want : kSections) {
    std::size_t found = at;
    while (found < sections.size() && sections[found]["heading"] != want.heading) ++found;
    if (found == sections.size()) {
      if (!want.only_when_journaled) {
        missing.push_back("section \"" + want.heading + "\" (absent, or out of order)");
      }
      continue;
    }
    at = found + 1;
    const json& s = sections[found];
    if (!s["shown"].get<bool>()) {
      missing.push_back("section \"" + want.heading + "\" is not rendered");
    }
    if (!want.id.empty() && s["id"] != want.id) {
      missing.push_back("section \"" + want.heading + "\" has id \"" + s["id"].get<std::string>() +
                        "\", not \"" + want.id + "\"");
    }
    if (want.id == "post-mortem") {
      std::size_t sub = 0;
      const json& shown = s["subheadings"];
      for (const std::string& h3 : kPostMortem) {
        while (sub < shown.size() && shown[sub] != h3) ++sub;
        if (sub == shown.size()) {
          missing.push_back("post-mortem section \"" + h3 + "\"");
          sub = 0;
        }
      }
    }
  }
  if (!page["chart_shown"].get<bool>() || page["chart_bars"].get<int>() == 0) {
    missing.push_back("the planned vs actual chart (a rendered <svg> with bars)");
  }
  if (!page["footer"].get<std::string>().starts_with("Replayed by backout")) {
    missing.push_back("the footer");
  }
  return missing;
}

// Loads `html` in a fresh headless Chromium and reads the console and the rendered page.
// With `screenshot`, also writes a full-page PNG there, 1280 px wide.
PageCheck LoadInChromium(const fs::path& html, const fs::path& screenshot = {}) {
  Chromium browser;
  const std::string target =
      browser.Call("Target.createTarget", {{"url", "about:blank"}}, "")["targetId"];
  const std::string session = browser.Call(
      "Target.attachToTarget", {{"targetId", target}, {"flatten", true}}, "")["sessionId"];
  for (const char* domain : {"Runtime.enable", "Log.enable", "Page.enable", "Inspector.enable"}) {
    browser.Call(domain, json::object(), session);
  }
  const std::string url = "file://" + fs::absolute(html).string();
  const std::size_t before = browser.events().size();  // about:blank's own load is not ours
  const json nav = browser.Call("Page.navigate", {{"url", url}}, session);
  if (nav.contains("errorText")) {
    throw std::runtime_error("could not load " + url + ": " + nav["errorText"].dump());
  }
  browser.WaitForEvent("Page.loadEventFired", session, before);
  const json settled = browser.Call(
      "Runtime.evaluate", {{"expression", kSettle}, {"awaitPromise", true}}, session);
  if (settled["result"].value("value", "") != url) {
    throw std::runtime_error("the page is not " + url + ": " + settled.dump());
  }
  const json inspected = browser.Call(
      "Runtime.evaluate", {{"expression", kInspectPage}, {"returnByValue", true}}, session);
  if (inspected.contains("exceptionDetails")) {
    throw std::runtime_error("inspecting the page failed: " + inspected["exceptionDetails"].dump());
  }
  PageCheck out;
  out.page = inspected["result"]["value"];
  if (!screenshot.empty()) {
    const int height = out.page["height"].get<int>();
    browser.Call("Emulation.setDeviceMetricsOverride",
                 {{"width", 1280}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}},
                 session);
    const json shot = browser.Call("Page.captureScreenshot", {{"format", "png"}}, session);
    fs::create_directories(fs::absolute(screenshot).parent_path());
    WriteFile(screenshot, Base64Decode(shot["data"].get<std::string>()));
  }
  out.console_errors = ConsoleErrors(browser.events(), session);
  out.missing = MissingParts(out.page);
  return out;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "  " + l + "\n";
  return out;
}

// The verdict on a page: no console error, nothing missing.
::testing::AssertionResult RendersCleanly(const PageCheck& c) {
  if (c.console_errors.empty() && c.missing.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "console errors:\n"
                                       << Join(c.console_errors) << "missing:\n"
                                       << Join(c.missing);
}

fs::path Golden(const std::string& name) {
  return SourceDir() / "tests" / "fixtures" / "golden" / (name + ".report.html");
}

// --- the reports -----------------------------------------------------------------------

class GoldenInChromium : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenInChromium, LoadsWithoutConsoleErrorsAndShowsEverySection) {
  const fs::path html = Golden(GetParam());
  ASSERT_TRUE(fs::exists(html)) << html;
  fs::path screenshot;
  const char* wanted = std::getenv("BACKOUT_REPORT_SCREENSHOT");
  if (wanted != nullptr && *wanted != '\0' && GetParam() == "approved-by-another") {
    screenshot = wanted;
  }
  const PageCheck c = LoadInChromium(html, screenshot);
  EXPECT_TRUE(RendersCleanly(c)) << html;
  // The fixtures were recorded before preflight existed.
  EXPECT_EQ(c.page["sections"].size(), SectionCount(false)) << c.page.dump(2);
  if (!screenshot.empty()) {
    EXPECT_GT(fs::file_size(screenshot), 10'000u) << screenshot;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoldenInChromium,
                         ::testing::Values("approved-by-another", "crashed-resumed",
                                           "failed-always", "in-doubt-resolved", "aborted"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name = p.param;
                           std::erase(name, '-');
                           return name;
                         });

TEST(ReportInChromium, FreshRunOfTheExample) {
  // Given a real run of examples/media-rollback: paused at its approval, a note, approved by
  // someone else, resumed to the end
  Example ex("media-rollback", 500);
  const std::map<std::string, std::string> fast = {{"APP_DRAIN_SECONDS", "0.05"}};
  const ProcessResult run = ex.Backout({"run", "plan.yaml"}, fast);
  ASSERT_EQ(run.exit_code, 3) << run.out << run.err;
  const std::string run_id = RunIdFrom(run);
  ASSERT_EQ(ex.Backout({"note", run_id, "waiting for the <b>DBA</b> & co"}).exit_code, 0);
  const ProcessResult approve = ex.Backout(
      {"approve", run_id, "confirm", "--phrase", "ROLLBACK_MEDIA", "--operator", "carol"});
  ASSERT_EQ(approve.exit_code, 0) << approve.err;
  const ProcessResult resume = ex.Backout({"resume", run_id}, fast);
  ASSERT_EQ(resume.exit_code, 0) << resume.out << resume.err;
  const fs::path html = ex.dir() / "report.html";
  const ProcessResult report =
      ex.Backout({"report", run_id, "--format", "html", "-o", html.string()});
  ASSERT_EQ(report.exit_code, 0) << report.err;

  // When Chromium loads its HTML report
  const PageCheck c = LoadInChromium(html);

  // Then it renders cleanly, and the note's markup shows as text
  EXPECT_TRUE(RendersCleanly(c));
  EXPECT_NE(c.page["text"].get<std::string>().find("waiting for the <b>DBA</b> & co"),
            std::string::npos);
  EXPECT_EQ(c.page["sections"].size(), SectionCount(true)) << c.page.dump(2);
  EXPECT_EQ(c.page["tiles"].size(), kTiles.size()) << c.page.dump(2);
}

// --- the checker can fail --------------------------------------------------------------

constexpr std::string_view kCutSection = "<cut the section>";

struct Edit {
  std::string find;     // replaced, once, in a copy of the golden report
  std::string replace;  // ...by this; kCutSection removes the <section> starting at `find`
};

struct Breakage {
  std::string name;
  std::vector<Edit> edits;
  bool console_error;   // the check must then report a console error
  std::string missing;  // ...and name this among the missing parts ("": nothing missing)
};

void PrintTo(const Breakage& b, std::ostream* os) { *os << b.name; }

std::string Apply(std::string html, const std::vector<Edit>& edits) {
  for (const Edit& e : edits) {
    const std::size_t at = html.find(e.find);
    if (at == std::string::npos) throw std::runtime_error("not in the report: " + e.find);
    if (e.replace == kCutSection) {
      const std::string close = "</section>\n";
      const std::size_t end = html.find(close, at);
      if (end == std::string::npos) throw std::runtime_error("no </section> after " + e.find);
      html.erase(at, end + close.size() - at);
    } else {
      html.replace(at, e.find.size(), e.replace);
    }
  }
  return html;
}

class BrokenReport : public ::testing::TestWithParam<Breakage> {};

TEST_P(BrokenReport, IsCaught) {
  const Breakage& b = GetParam();
  TempDir tmp;
  const fs::path html = tmp.path() / "broken.report.html";
  WriteFile(html, Apply(ReadFile(Golden("approved-by-another")), b.edits));

  const PageCheck c = LoadInChromium(html);

  EXPECT_FALSE(RendersCleanly(c)) << "the checker passed a broken report";
  if (b.console_error) {
    EXPECT_FALSE(c.console_errors.empty()) << "no console error reported";
  } else {
    EXPECT_TRUE(c.console_errors.empty()) << Join(c.console_errors);
  }
  if (!b.missing.empty()) {
    bool named = false;
    for (const std::string& m : c.missing) named |= m.find(b.missing) != std::string::npos;
    EXPECT_TRUE(named) << "\"" << b.missing << "\" not among the missing:\n" << Join(c.missing);
  } else {
    EXPECT_TRUE(c.missing.empty()) << Join(c.missing);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Negative, BrokenReport,
    ::testing::Values(
        Breakage{"ConsoleError", {{"</body>", "<script>console.error('x')</script></body>"}}, true,
                 ""},
        Breakage{"UncaughtException", {{"</main>", "</main><script>null.boom()</script>"}}, true,
                 ""},
        Breakage{"FailedAssert", {{"</main>", "</main><script>console.assert(1 === 2)</script>"}},
                 true, ""},
        Breakage{"LateError",
                 {{"</body>", "<script>setTimeout(() => console.error('late'))</script></body>"}},
                 true, ""},
        Breakage{"MissingImage",
                 {{"</footer>", "<img src=\"no-such-picture.png\" alt=\"\"></footer>"}}, true, ""},
        Breakage{"SectionRemoved",
                 {{"<section>\n<h2>Verification</h2>", std::string(kCutSection)}}, false,
                 "section \"Verification\""},
        Breakage{"PostMortemSubsectionRemoved", {{"<h3>Detection</h3>", ""}}, false,
                 "post-mortem section \"Detection\""},
        Breakage{"SectionHidden", {{"</style>", "#post-mortem { display: none; }</style>"}}, false,
                 "section \"Post-mortem\" is not rendered"},
        Breakage{"ChartHidden", {{"<figure>", "<figure style=\"display: none\">"}}, false,
                 "chart"},
        Breakage{"ConsoleErrorAndSectionRemoved",
                 {{"</body>", "<script>console.error('x')</script></body>"},
                  {"<section>\n<h2>Backups</h2>", std::string(kCutSection)}},
                 true, "section \"Backups\""}),
    [](const ::testing::TestParamInfo<Breakage>& p) { return p.param.name; });

}  // namespace
}  // namespace backout::testing
