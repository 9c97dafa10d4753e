// Position: where an emit sits in the broker's history, and its two wire forms.
//
// The broker numbers every published emit with one global sequence (1, 2, 3, ...) within an
// epoch, a short random string chosen when its history starts (a new epoch means the history
// before it is gone). An emit's position in every room it targets is that sequence: monotonic
// per room, not contiguous.
//
// - offset `<epoch>:<seq>`: the last argument of a recoverable event; socket.io-client keeps
//   the last one it received and sends it back in its CONNECT auth when it reconnects.
// - pid `<epoch>:<seq>:<random>`: the session id of connection-state recovery, sent in the
//   CONNECT answer. Its position is the broker's position when the session connected, so a
//   client that received no event before a drop still recovers from there; the random part
//   makes each session's pid its own (socket.recovered compares pids).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nudge {

struct Position {
    std::string epoch;
    std::uint64_t seq = 0;
    friend bool operator==(const Position&, const Position&) = default;
};

// A fresh epoch: 8 random base64url characters (never ':').
[[nodiscard]] std::string random_epoch();

[[nodiscard]] std::string format_offset(std::string_view epoch, std::uint64_t seq);
// Empty when `text` is not `<epoch>:<seq>` (non-empty epoch without ':', decimal seq).
[[nodiscard]] std::optional<Position> parse_offset(std::string_view text);

[[nodiscard]] std::string make_pid(std::string_view epoch, std::uint64_t seq);
// The position a pid was made at; empty when `text` is not `<epoch>:<seq>:<random>`.
[[nodiscard]] std::optional<Position> parse_pid(std::string_view text);

}  // namespace nudge
