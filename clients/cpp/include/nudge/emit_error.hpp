// EmitError: why an Emitter call failed, as a value (see nudge/emitter.hpp).
//
// Every failure names its cause: which hub, whether it answered, with which status and the
// hub's own error code and message, or which system error stopped the connection. describe()
// renders all of it as one sentence for logs and command lines. Plain data; thread-compatible.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace nudge {

enum class ErrorKind {
    kInvalidArgument,  // caught before anything was sent: bad option or URL, data not JSON
    kUnreachable,      // resolving, connecting or the connection failed (after the retries)
    kTimeout,          // no complete answer within the timeout (after the retries)
    kUnauthorized,     // 401: the API key is missing or wrong; never retried
    kRejected,         // another 4xx, e.g. 400 naming the bad field; never retried
    kTooLarge,         // 413: the request body is over the hub's --max-body; never retried
    kUnavailable,      // 5xx on every attempt, e.g. 503 "overloaded" (the hub is behind) or
                       // 503 "broker_unavailable" (the hub's Redis is unreachable)
    kBadResponse,      // an answer that is not the hub's: unexpected status, or body that does
                       // not say how many events were accepted (a proxy in between?)
};

// Stable snake_case name: "invalid_argument", "unreachable", "timeout", "unauthorized",
// "rejected", "too_large", "unavailable", "bad_response".
[[nodiscard]] std::string_view to_string(ErrorKind kind) noexcept;

// True for the kinds a later retry may cure (unreachable, timeout, unavailable); false for
// those where sending the same request again cannot help.
[[nodiscard]] bool is_transient(ErrorKind kind) noexcept;

struct EmitError {
    ErrorKind kind = ErrorKind::kInvalidArgument;
    std::string url;               // the hub the request went to, as configured
    unsigned status = 0;           // HTTP status of the last answer; 0 when there was none
    std::string code;              // the hub's error code ("reserved_event"), empty if none
    std::string message;           // the hub's message, or the failure in words
    std::error_code system_error;  // kUnreachable / kTimeout: what the socket reported
    unsigned attempts = 0;         // requests made for the failing batch; 0 = nothing sent
    // Events the hub had taken before this failure. emit_batch() sends in order, so
    // events [0, accepted) went through; the others were not taken, except that after a
    // kTimeout or kUnreachable during an answer the hub may have taken the failing chunk
    // (sending it again is safe: an invalidation delivered twice costs one refetch).
    std::size_t accepted = 0;
    // Set when the retries stopped because this retry budget had passed (not max_retries).
    std::optional<std::chrono::milliseconds> retry_budget_spent;

    // One sentence, e.g. `the hub at http://127.0.0.1:8080 rejected the request (400
    // reserved_event): event: "connect" is reserved by Socket.IO`.
    [[nodiscard]] std::string describe() const;
};

}  // namespace nudge
