// Emit: one event addressed to rooms, as accepted by the publish API or a broker. Plain data;
// validated before it gets here (api/), so the hub trusts it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nudge::hub {

// The documented maximum of an event's spread window (publish API `spread`, --refetch-rate).
inline constexpr std::uint32_t kMaxSpreadMs = 60000;

struct Emit {
    std::vector<std::string> rooms;   // at least one
    std::vector<std::string> except;  // rooms whose members must not receive it
    std::string event;                // non-reserved event name
    std::string data_json;            // serialized JSON argument, empty for none
    std::string id;                   // publisher's idempotency key, empty for none
    // Set by the broker: the emit's position (global sequence, 0 when unsequenced) and, when
    // connection-state recovery is on, the offset string sent as the event's last argument.
    std::uint64_t seq = 0;
    std::string offset;
    // The event's position in the backend's database, canonical (common/event_version.hpp),
    // empty for none; and the publisher's refetch spread window in ms (0 = none, at most
    // kMaxSpreadMs). Both reach clients that opted in with auth.nudge (docs/protecting-your-api.md).
    std::string version;
    std::uint32_t spread_ms = 0;
};

using EmitBatch = std::vector<Emit>;
using SharedBatch = std::shared_ptr<const EmitBatch>;

}  // namespace nudge::hub
