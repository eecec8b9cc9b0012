// A gtest fixture for the suites that talk to the scripted HTTP server (http_server.h): one
// server per suite, started before its first test and stopped after its last, and reset to
// its start state before each test.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "tests/support/http_server.h"

namespace backout::testing {

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<std::unique_ptr<HttpServer>> started = HttpServer::Start();
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->Reset().ok()); }

  // An http target on the server: {type: http, base_url: ...}, updated with `extra`.
  static nlohmann::json HttpTarget(nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json target = {{"type", "http"}, {"base_url", server_->base_url()}};
    target.update(extra);
    return target;
  }

  // Every request the server recorded since the last reset (an empty list, and a failed
  // expectation, when it cannot say).
  static nlohmann::json Recorded() {
    Result<nlohmann::json> recorded = server_->Recorded();
    EXPECT_TRUE(recorded.ok()) << recorded.status().ToString();
    return recorded.ok() ? *recorded : nlohmann::json::array();
  }

  // Returns `call()`, during which another thread sets `cancel` once the server has recorded
  // a request: the flag is then seen mid-flight.
  template <typename Call>
  static auto CancelOnceRecorded(std::atomic<bool>& cancel, Call call) {
    std::thread canceller([&] {
      WaitFor([&] { return !Recorded().empty(); }, std::chrono::seconds(30));
      cancel = true;
    });
    auto result = call();
    canceller.join();
    return result;
  }

  // The base URL of another server, stopped again: its port is closed now ("" and a failed
  // expectation when it cannot start).
  static std::string StoppedServerUrl() {
    Result<std::unique_ptr<HttpServer>> gone = HttpServer::Start();
    EXPECT_TRUE(gone.ok()) << gone.status().ToString();
    return gone.ok() ? (*gone)->base_url() : "";
  }

  inline static HttpServer* server_ = nullptr;
};

}  // namespace backout::testing
