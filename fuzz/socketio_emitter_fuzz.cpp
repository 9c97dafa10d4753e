// Arbitrary Redis messages for the @socket.io/redis-emitter decoder. The first byte picks the
// function (0 parse_channel, 1 decode_broadcast, 2 decode_request), the rest is its input.
// Nothing may crash, and whatever is accepted satisfies what the hub trusts: non-empty valid
// names, no reserved event, and arguments that are JSON values ("[" + data_json + "]" parses).
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "broker/socketio_emitter.hpp"
#include "sio/packet.hpp"

namespace {

using namespace nudge;

void check_rooms(const std::vector<std::string>& rooms, bool may_be_empty) {
    if (rooms.empty() && !may_be_empty) std::abort();
    for (const auto& room : rooms) {
        if (room.empty()) std::abort();
    }
}

void check_event(std::string_view event, const std::string& data_json) {
    if (event.empty() || sio::is_reserved_event(event)) std::abort();
    boost::system::error_code ec;
    (void)boost::json::parse("[" + data_json + "]", ec);
    if (ec) std::abort();
}

void check_error(broker::EmitterError error) {
    if (broker::to_string(error).empty() || broker::message(error).empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: {
            const auto parsed = broker::parse_channel(input);
            if (parsed.kind == broker::EmitterChannel::kRoom &&
                broker::emitter_room_channel(parsed.room) != input) {
                std::abort();
            }
            break;
        }
        case 1: {
            auto decoded = broker::decode_broadcast(input);
            if (!decoded) {
                check_error(decoded.error());
                break;
            }
            if (const auto* emit = std::get_if<hub::Emit>(&*decoded)) {
                check_rooms(emit->rooms, false);
                check_rooms(emit->except, true);
                check_event(emit->event, emit->data_json);
            } else {
                const auto& everyone = std::get<broker::EveryoneEmit>(*decoded);
                check_rooms(everyone.except, true);
                check_event(everyone.event, everyone.data_json);
            }
            break;
        }
        default: {
            auto decoded = broker::decode_request(input);
            if (!decoded) {
                check_error(decoded.error());
                break;
            }
            if (const auto* op = std::get_if<hub::RoomOp>(&*decoded)) {
                check_rooms(op->rooms, false);
                check_rooms(op->except, true);
                check_rooms(op->targets, op->kind == hub::RoomOpKind::kDisconnect);
            } else {
                const auto& op_all = std::get<broker::EveryoneRoomOp>(*decoded);
                check_rooms(op_all.except, true);
                check_rooms(op_all.targets, op_all.kind == hub::RoomOpKind::kDisconnect);
            }
            break;
        }
    }
    return 0;
}
