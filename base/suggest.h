// "Did you mean": the closest of a set of known names to a word the user typed, for the
// messages that reject an unknown subcommand, plan field, target or step id.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backout {

// The candidate nearest to `word` by edit distance (insertions, deletions, substitutions and
// swaps of two neighbours, ASCII case ignored), when it is near enough to be a likely typo:
// at most one edit for words of up to 4 characters, two up to 8, three beyond. Ties go to
// the earliest candidate. nullopt when none is near enough, or when `word` is a candidate.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" for ClosestMatch's answer, or "" when there is none: ready to
// append to an error message.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// The hint a message holds when DidYouMean's text was put in it: "did you mean 'X'?" (the
// first one), or nullopt. For machine-readable output that gives the hint a field of its own
// (`validate --json`).
std::optional<std::string> DidYouMeanIn(std::string_view message);

}  // namespace backout
