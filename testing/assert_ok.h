// ASSERT_OK_AND_ASSIGN(var, expr): declares `var` from a Result, failing the test (not the
// process) on an error. For gtest tests; header only.
//
// Part of the unit-level testing library (testing/).
#pragma once

#include <gtest/gtest.h>

#include <utility>

#define ASSERT_OK_AND_ASSIGN(var, expr)                               \
  auto var##_result = (expr);                                         \
  ASSERT_TRUE(var##_result.ok()) << var##_result.status().ToString(); \
  auto var = std::move(var##_result).value()
