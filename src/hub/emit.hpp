// Emit: one event addressed to rooms, as accepted by the publish API or a broker. Plain data;
// validated before it gets here (api/), so the hub trusts it.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace nudge::hub {

struct Emit {
    std::vector<std::string> rooms;   // at least one
    std::vector<std::string> except;  // rooms whose members must not receive it
    std::string event;                // non-reserved event name
    std::string data_json;            // serialized JSON argument, empty for none
};

using EmitBatch = std::vector<Emit>;
using SharedBatch = std::shared_ptr<const EmitBatch>;

}  // namespace nudge::hub
