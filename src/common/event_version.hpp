// EventVersion: an event's position in the backend's database, as a publisher gives it (issue 22,
// /work contract "Publish API"). Two textual forms that compare with each other:
//   - a Postgres LSN `H/L` (1 to 8 hex digits each side): the number H * 2^32 + L;
//   - decimal digits (1 to 20, value at most 2^64 - 1): that number.
// The canonical text (what the hub stores, relays and sends to clients) is the LSN in upper-case
// hex without leading zeros in either part (`0/16B3748`), or the decimal without leading zeros.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nudge {

struct EventVersion {
    std::string text;          // canonical form
    std::uint64_t value = 0;   // for comparison
};

// Empty when `text` is neither form (or the decimal overflows 64 bits).
[[nodiscard]] std::optional<EventVersion> parse_event_version(std::string_view text);

// The canonical form of an integer version (a JSON number in the publish API).
[[nodiscard]] EventVersion event_version_from_integer(std::uint64_t value);

}  // namespace nudge
