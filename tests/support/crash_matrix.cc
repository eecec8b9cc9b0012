#include "tests/support/crash_matrix.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include "testing/run_log.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> Args(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// The scenario in labels and printed lines: the example, and its plan when not plan.yaml.
std::string Name(const CrashScenario& s) {
  return s.plan == "plan.yaml" ? s.example : s.example + "/" + s.plan;
}

ProcessSpec RunSpec(const Example& ex, const CrashScenario& s,
                    std::map<std::string, std::string> env = {}) {
  return ex.BackoutSpec(Args({"run", s.plan}, s.run_args), std::move(env));
}

// The end state of an uninterrupted run.
std::string ReferenceEndState(const CrashScenario& s) {
  Example ex(s.example, s.rows, s.env);
  const ProcessResult run = RunProcess(RunSpec(ex, s));
  EXPECT_EQ(run.exit_code, 0) << "uninterrupted run of " << Name(s) << "\n" << Show(run);
  return s.end_state(ex);
}

void ResumeToEnd(const Example& ex, const CrashScenario& s, const std::string& run_id,
                 const std::string& label) {
  const ProcessResult resumed = ex.Backout(Args({"resume", run_id}, s.resume_args));
  ASSERT_EQ(resumed.exit_code, 0) << label << "\n" << Show(resumed);
}

void ExpectSameEndState(const Example& ex, const CrashScenario& s, const std::string& run_id,
                        const std::string& reference, const std::string& label) {
  EXPECT_EQ(s.end_state(ex), reference) << label;
  if (s.exactly_once) s.exactly_once(ex, label);
  const ProcessResult verify = ex.Backout({"verify", run_id});
  EXPECT_EQ(verify.exit_code, 0) << label << ": " << Show(verify);
  const ProcessResult status = ex.Backout({"status", run_id, "--json"});
  EXPECT_TRUE(Contains(status.out, "\"status\": \"succeeded\"")) << label << "\n" << status.out;
}

bool StepLogExists(const Example& ex, const std::string& step) {
  if (!fs::exists(ex.journal())) return false;
  for (const auto& entry : fs::directory_iterator(ex.journal())) {
    if (testing::ReadAttemptLog(entry.path() / "logs", step + ".1.log")) return true;
  }
  return false;
}

// BACKOUT_CRASH_SEED when set (to repeat a failed series), else a random one.
unsigned CrashSeed() {
  const char* fixed = std::getenv("BACKOUT_CRASH_SEED");
  return fixed != nullptr ? static_cast<unsigned>(std::stoul(fixed)) : std::random_device{}();
}

}  // namespace

int MatrixStride() {
#ifdef BACKOUT_SANITIZER_BUILD
  constexpr int kBuildStride = 4;
#else
  constexpr int kBuildStride = 1;
#endif
  const char* set = std::getenv("BACKOUT_MATRIX_STRIDE");
  const int stride = set != nullptr ? std::atoi(set) : kBuildStride;
  return std::max(1, stride);
}

int MatrixShare(int count, int at_least) {
  return std::max(at_least, count / MatrixStride());
}

int KillAfterEveryAppend(const CrashScenario& s) {
  const std::string reference = ReferenceEndState(s);
  const int stride = MatrixStride();
  const unsigned seed = stride > 1 ? CrashSeed() : 0;
  const int first = 1 + static_cast<int>(seed % static_cast<unsigned>(stride));
  int crash_points = 0;
  for (int n = first;; n += stride) {
    const std::string label = Name(s) + ": crash after append " + std::to_string(n);
    Example ex(s.example, s.rows, s.env);
    const ProcessResult run =
        RunProcess(RunSpec(ex, s, {{"BACKOUT_CRASH_AFTER_APPENDS", std::to_string(n)}}));
    if (run.signal == 0) {
      // Fewer appends than n: the run went through; the matrix is complete.
      EXPECT_EQ(run.exit_code, 0) << label << "\n" << Show(run);
      EXPECT_GT(n, s.min_appends) << Name(s) << " should take more than " << s.min_appends
                                  << " appends";
      break;
    }
    EXPECT_EQ(run.signal, SIGKILL) << label << "\n" << Show(run);
    ++crash_points;
    const std::string run_id = RunIdFrom(run);
    ResumeToEnd(ex, s, run_id, label);
    ExpectSameEndState(ex, s, run_id, reference, label);
    if (::testing::Test::HasFailure()) break;
  }
  const std::string share =
      stride == 1 ? "" : " (every " + std::to_string(stride) + "th from append " +
                             std::to_string(first) + ", seed " + std::to_string(seed) + ")";
  std::printf("crash matrix: %s: %d crash points after journal appends tried%s, all resumed to "
              "the reference end state\n",
              Name(s).c_str(), crash_points, share.c_str());
  return crash_points;
}

int KillAtRandomMoments(const CrashScenario& s, const RandomKills& k) {
  const std::string reference = ReferenceEndState(s);
  const unsigned seed = CrashSeed();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(0, k.window_ms);
  const int kills = MatrixShare(k.kills, 2);
  int landed = 0;
  for (int i = 0; i < kills; ++i) {
    const int delay = delay_ms(rng);
    const std::string label = Name(s) + ": random kill " + std::to_string(i) + " at +" +
                              std::to_string(delay) + "ms into " + k.step + " (seed " +
                              std::to_string(seed) + ")";
    Example ex(s.example, s.rows, s.env);
    BackgroundProcess run(RunSpec(ex, s, k.env));
    const bool started = WaitFor(
        [&] { return k.started ? k.started(ex) : StepLogExists(ex, k.step); },
        std::chrono::seconds(60));
    EXPECT_TRUE(started) << label << ": the step never started";
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    run.Signal(SIGKILL);
    const ProcessResult killed = run.Wait();
    if (killed.signal == SIGKILL) ++landed;
    const std::string run_id = RunIdFrom(killed);
    ResumeToEnd(ex, s, run_id, label);
    ExpectSameEndState(ex, s, run_id, reference, label);
    if (::testing::Test::HasFailure()) break;
  }
  std::printf("crash matrix: %s: %d random kills during %s (%d landed before the run ended), "
              "seed %u, all resumed to the reference end state\n",
              Name(s).c_str(), kills, k.step.c_str(), landed, seed);
  return landed;
}

int KillAndResumeAtOnce(const CrashScenario& s, const RandomKills& k) {
  const std::string reference = ReferenceEndState(s);
  const unsigned seed = CrashSeed();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(0, k.window_ms);
  const std::string name = Name(s) + ": kills in a row inside " + k.step + " (seed " +
                           std::to_string(seed) + ")";
  Example ex(s.example, s.rows, s.env);
  auto started = [&](BackgroundProcess& runner) {
    return WaitFor([&] { return !runner.Running() || k.started(ex); }, std::chrono::seconds(60));
  };
  auto process = std::make_unique<BackgroundProcess>(RunSpec(ex, s, k.env));
  std::string run_id;
  const int kills = MatrixShare(k.kills, 2);
  int landed = 0;
  for (int i = 0; i < kills; ++i) {
    const std::string label = name + ", kill " + std::to_string(i);
    EXPECT_TRUE(started(*process)) << label << ": the step never started";
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    process->Signal(SIGKILL);
    const ProcessResult killed = process->Wait();
    if (run_id.empty()) run_id = RunIdFrom(killed);
    if (killed.signal != SIGKILL) {
      // It ended first: it must have finished the run, never failed or paused it.
      EXPECT_EQ(killed.exit_code, 0) << label << "\n" << Show(killed);
      break;
    }
    ++landed;
    // At once: no waiting for the target to notice that the killed runner is gone.
    process = std::make_unique<BackgroundProcess>(
        ex.BackoutSpec(Args({"resume", run_id}, s.resume_args), k.env));
  }
  const ProcessResult last = process->Wait();
  if (last.signal == 0) {
    EXPECT_EQ(last.exit_code, 0) << name << ": last runner\n" << Show(last);
  }
  if (!::testing::Test::HasFailure()) {
    ResumeToEnd(ex, s, run_id, name);  // "already succeeded" when the last runner finished
    ExpectSameEndState(ex, s, run_id, reference, name);
  }
  std::printf("crash matrix: %s: %d kills in a row during %s, each resumed at once (%d landed "
              "before the run ended), seed %u, %s\n",
              Name(s).c_str(), kills, k.step.c_str(), landed, seed,
              ::testing::Test::HasFailure() ? "FAILED" : "resumed to the reference end state");
  return landed;
}

}  // namespace backout::testing
