// What one HTTP answer of the hub to POST /api/v1/emit means. Pure; thread-safe.
//
//   2xx {"accepted": N}, N = events sent   → Accepted
//   2xx {"accepted": true} to a membership request (events_sent 0) → Accepted{0}
//   401 → kUnauthorized, 413 → kTooLarge, other 4xx → kRejected, 5xx → kUnavailable
//   anything else (1xx/3xx, a 2xx without the right count) → kBadResponse
// The hub's {"error":{"code","message"}} fills EmitError::code and message; an answer from
// something else (a proxy's HTML page) leaves code empty and quotes the start of its body.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "nudge/emitter.hpp"

namespace nudge::detail {

struct HubAnswer {
    unsigned status = 0;
    std::string body;
    std::string retry_after;  // the Retry-After header, empty when absent
};

// The EmitError has kind, status, code and message set; the caller adds url, attempts and
// accepted.
[[nodiscard]] tl::expected<Accepted, EmitError> interpret(const HubAnswer& answer,
                                                          std::size_t events_sent);

// Retry-After in delta-seconds (RFC 9110 §10.2.3); nullopt for an HTTP date or garbage, which
// then leave the wait to the backoff.
[[nodiscard]] std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

}  // namespace nudge::detail
