// RoomOp: a membership change for the sockets in some rooms, as accepted by the publish API
// (POST /api/v1/rooms/{join,leave,disconnect}) or a broker — the hub's equivalents of
// Socket.IO's socketsJoin, socketsLeave and disconnectSockets. Plain data; validated before
// it gets here (api/), so the hub trusts it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nudge::hub {

enum class RoomOpKind : std::uint8_t {
    kJoin,        // the selected sockets join `targets`
    kLeave,       // the selected sockets leave `targets`
    kDisconnect,  // the selected sockets get a Socket.IO DISCONNECT and are closed
    kCount,       // number of kinds above; not a kind
};

// Stable snake_case name, used in logs and as the metric label: "join", "leave", "disconnect".
[[nodiscard]] std::string_view to_string(RoomOpKind kind) noexcept;

struct RoomOp {
    RoomOpKind kind = RoomOpKind::kJoin;
    std::vector<std::string> rooms;    // selects the sockets in any of these (at least one)
    std::vector<std::string> except;   // ... and in none of these
    std::vector<std::string> targets;  // rooms to join or leave; empty for kDisconnect
};

using SharedRoomOp = std::shared_ptr<const RoomOp>;

}  // namespace nudge::hub
