// Fuzzes what the Redis broker reads back from Redis: event messages and membership
// operations. Anything may be in Redis (another program, a corrupted key): never crash, and
// what decodes must encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker/redis_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (const auto event = nudge::broker::decode_event(input)) {
        const std::string again = event->epoch + ' ' + std::to_string(event->emit.seq) + ' ' +
                                  std::to_string(event->ms) + ' ' +
                                  nudge::broker::encode_event_body(event->emit);
        const auto twice = nudge::broker::decode_event(again);
        if (!twice || twice->emit.rooms != event->emit.rooms || twice->emit.except != event->emit.except ||
            twice->emit.data_json != event->emit.data_json || twice->emit.event != event->emit.event ||
            twice->emit.version != event->emit.version || twice->emit.spread_ms != event->emit.spread_ms) {
            std::abort();
        }
    }
    if (const auto op = nudge::broker::decode_room_op(input)) {
        const auto again = nudge::broker::decode_room_op(nudge::broker::encode_room_op(*op));
        if (!again || again->rooms != op->rooms || again->targets != op->targets || again->kind != op->kind) {
            std::abort();
        }
    }
    return 0;
}
