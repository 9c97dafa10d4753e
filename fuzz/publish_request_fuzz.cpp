// Arbitrary bodies for POST /api/v1/emit: parse_publish must never crash, and whatever it
// accepts satisfies the contract the hub trusts (rooms and names non-empty, no reserved event).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/publish_request.hpp"
#include "sio/packet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const nudge::api::PublishLimits limits{};
    auto batch = nudge::api::parse_publish(body, limits);
    if (!batch) {
        if (batch.error().status != 400 || batch.error().code.empty()) std::abort();
        return 0;
    }
    if (batch->empty() || batch->size() > limits.max_events) std::abort();
    for (const auto& emit : *batch) {
        if (emit.event.empty() || nudge::sio::is_reserved_event(emit.event)) std::abort();
        if (emit.rooms.empty()) std::abort();
        for (const auto& room : emit.rooms) {
            if (room.empty()) std::abort();
        }
    }
    return 0;
}
