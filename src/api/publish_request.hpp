// Parsing and validation of POST /api/v1/emit bodies. Pure; thread-safe.
//
// Accepted forms:
//   {"room": "user_1", "event": "balance_updated", "data": {...}, "except": [...], "id": "..."}
//   {"rooms": ["a", "b"], "event": "...", ...}
//   {"events": [ <either form above>, ... ]}
// `id` (optional) is the publisher's idempotency key for that event; `version` (optional) the
// event's position in the database (an LSN string, a decimal string or a JSON integer), kept in
// canonical form; `spread` (optional) the refetch spread window in ms, 0 to hub::kMaxSpreadMs.
// Unknown fields are rejected (a typo such as "romm" must not silently drop an event).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "hub/emit.hpp"
#include "hub/room_op.hpp"

namespace nudge::api {

struct ApiError {
    int status;
    std::string code;     // stable snake_case, e.g. "invalid_json", "reserved_event"
    std::string message;  // names the offending field
};

// {"error":{"code":"…","message":"…"}}
[[nodiscard]] std::string error_body(const ApiError& error);

struct PublishLimits {
    std::size_t max_events = 1000;       // per batch
    std::size_t max_rooms = 1000;        // per event (rooms + except)
    std::size_t max_name_bytes = 256;    // event and room names
};

[[nodiscard]] Result<hub::EmitBatch, ApiError> parse_publish(std::string_view body,
                                                             const PublishLimits& limits);

// Bodies of POST /api/v1/rooms/{join,leave,disconnect} (Socket.IO's socketsJoin, socketsLeave,
// disconnectSockets for the sockets in `room`):
//   join:       {"room": "user_1" | "rooms": [...], "except": [...], "join": ["team_7", ...]}
//   leave:      {"room": ..., "except": [...], "leave": [...]}
//   disconnect: {"room": ..., "except": [...]}
// Room names follow the emit limits (non-empty, max_name_bytes, max_rooms in all lists
// together); unknown fields are rejected.
[[nodiscard]] Result<hub::RoomOp, ApiError> parse_room_op(hub::RoomOpKind kind,
                                                          std::string_view body,
                                                          const PublishLimits& limits);

}  // namespace nudge::api
