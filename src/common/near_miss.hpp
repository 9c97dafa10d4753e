// near_miss: the candidate a mistyped word was probably meant to be ("did you mean --port?").
//
// Distance is the optimal string alignment distance (insertions, deletions, substitutions and
// swaps of two neighbouring characters, each costing 1), so `--prot` is one edit from `--port`
// and `apikey` one from `api-key`. A candidate counts as a near miss when it is within a third
// of the word's length (at least 1, at most 3 edits); ties go to the earliest candidate.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace nudge {

[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

// The nearest candidate within the threshold above; empty when none is close enough.
[[nodiscard]] std::optional<std::string> near_miss(std::string_view word,
                                                   std::span<const std::string> candidates);

}  // namespace nudge
