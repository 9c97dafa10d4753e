// RedisMessage: how the Redis broker writes an emit and a membership operation into Redis
// (pub/sub payloads and history stream entries), and reads them back. Pure functions.
//
// An event travels as `<epoch> <seq> <ms> <body>`: the Lua publish script prefixes the body the
// hub wrote with the position it handed out and the Redis clock (ms since the Unix epoch, for
// the lag metric and the history's age). The body is a list of length-prefixed fields
// (`<decimal length>:<bytes>`, netstring-like, so room names and data may hold any byte):
// event, data, id, rooms count, rooms..., except count, except...
// A membership operation is `<kind>` then the same kind of fields: rooms, except, targets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hub/emit.hpp"
#include "hub/room_op.hpp"

namespace nudge::broker {

// The body of an event (what the hub hands the publish script).
[[nodiscard]] std::string encode_event_body(const hub::Emit& emit);

struct RedisEvent {
    std::string epoch;
    std::uint64_t ms = 0;  // Redis clock at commit
    hub::Emit emit;        // seq set; offset left to the caller
};
// A whole event message; empty when malformed.
[[nodiscard]] std::optional<RedisEvent> decode_event(std::string_view message);

[[nodiscard]] std::string encode_room_op(const hub::RoomOp& op);
[[nodiscard]] std::optional<hub::RoomOp> decode_room_op(std::string_view message);

}  // namespace nudge::broker
