// RedisMessage: how the Redis broker writes an emit and a membership operation into Redis
// (pub/sub payloads and history stream entries), and reads them back. Pure functions.
//
// An event travels as `<epoch> <seq> <ms> <body>`: the Lua publish script prefixes the body the
// hub wrote with the position it handed out and the Redis clock (ms since the Unix epoch, for
// the lag metric and the history's age). The body is a list of length-prefixed fields
// (`<decimal length>:<bytes>`, netstring-like, so room names and data may hold any byte):
// event, data, id, rooms count, rooms..., except count, except...; since v1.1 then version
// (canonical, empty for none) and spread (decimal ms, 0 for none).
// A membership operation is `<kind> ` then the same kind of fields: rooms, except, targets.
//
// Versioned, for rolling upgrades (hubs of two versions on one Redis): a body and a membership
// operation start with `v<major><minor>` (three bytes, e.g. `v10`; `v` never starts a field, so
// a message from a hub before the versioned format is still read). A newer minor version only
// appends fields: a reader takes the fields it knows and skips well-formed ones after them. A
// newer major version may change what the fields mean: such a message is refused (counted as
// ignored by the broker), never misread. History: v1.0 the fields up to except; v1.1 (issue
// 22/23) appends version and spread, which a v1.0 hub skips (its clients get the event without
// them) and which a message of v1.0 or before lacks (read as none).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hub/emit.hpp"
#include "hub/room_op.hpp"

namespace nudge::broker {

// The format this hub writes: major and minor version, as the two digits after `v`.
inline constexpr char kWireMajor = '1';
inline constexpr char kWireMinor = '1';

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
