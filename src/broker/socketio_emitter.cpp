#include "broker/socketio_emitter.hpp"

#include <msgpuck.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "broker/msgpack_json.hpp"
#include "broker/msgpack_reader.hpp"
#include "sio/packet.hpp"
#include "ws/utf8.hpp"

namespace nudge::broker {

namespace {

using namespace msgpack_detail;

struct ErrorInfo {
    std::string_view label;
    std::string_view message;
    bool ignored;
};

constexpr std::array<ErrorInfo, static_cast<std::size_t>(Err::kCount)> kErrors = {{
    {"other_namespace", "packet for another namespace than \"/\"", true},
    {"not_an_event", "packet type is not EVENT", true},
    {"sockets_request", "fetchSockets/allSockets requests are not answered", true},
    {"all_rooms_request", "allRooms requests are not answered", true},
    {"server_side_emit", "serverSideEmit has no handler in nudge", true},
    {"ack_request", "broadcasts with acknowledgements are not answered", true},
    {"single_socket_request", "join/leave/disconnect of one Socket.IO sid", true},
    {"no_targets", "no rooms to join or leave", true},
    {"malformed", "not a well-formed emitter message", false},
    {"bad_event", "event name missing, empty, too long or not UTF-8", false},
    {"reserved_event", "event name reserved by Socket.IO", false},
    {"binary", "binary arguments are not carried (JSON only)", false},
    {"extension", "msgpack extension type other than a timestamp", false},
    {"bad_map_key", "object key is not a string", false},
    {"bad_string", "string argument is not valid UTF-8", false},
    {"too_deep", "arguments nested too deep", false},
    {"too_large", "arguments too large", false},
    {"bad_room", "room is not a non-empty UTF-8 string or an integer, or too long", false},
    {"too_many_rooms", "too many rooms", false},
    {"unknown_request_type", "unknown request type", false},
}};

const ErrorInfo& info(Err error) noexcept {
    const auto index = static_cast<std::size_t>(error);
    return index < kErrors.size() ? kErrors[index]
                                  : kErrors[static_cast<std::size_t>(Err::kMalformed)];
}

// Socket.IO packet types (socket.io-parser PacketType).
constexpr std::int64_t kPacketEvent = 2;
constexpr std::int64_t kPacketBinaryEvent = 5;

// socket.io-redis-adapter RequestType.
enum class RequestType : std::int64_t {
    kSockets = 0,
    kAllRooms = 1,
    kRemoteJoin = 2,
    kRemoteLeave = 3,
    kRemoteDisconnect = 4,
    kRemoteFetch = 5,
    kServerSideEmit = 6,
    kBroadcast = 7,
    kBroadcastClientCount = 8,
    kBroadcastAck = 9,
};


bool valid_name(std::string_view name, const EmitterLimits& limits) noexcept {
    return !name.empty() && name.size() <= limits.max_name_bytes && ws::is_valid_utf8(name);
}

// opts.rooms / opts.except of a broadcast: nil or an array of strings (Socket.IO rooms may also
// be numbers in JavaScript; those become their decimal text, as the adapter's channel name).
Decoded<std::vector<std::string>> msgpack_rooms(Reader in, std::size_t budget,
                                                const EmitterLimits& limits) {
    auto type = in.peek();
    if (!type) return fail(type.error());
    if (*type == MP_NIL) return std::vector<std::string>{};
    if (*type != MP_ARRAY) return fail(Err::kBadRoom);
    auto n = in.array();
    if (!n) return fail(n.error());
    if (*n > budget) return fail(Err::kTooManyRooms);
    std::vector<std::string> rooms;
    rooms.reserve(*n);
    for (std::uint32_t i = 0; i < *n; ++i) {
        auto t = in.peek();
        if (!t) return fail(t.error());
        if (*t == MP_STR) {
            auto s = in.str();
            if (!s) return fail(s.error());
            if (!valid_name(*s, limits)) return fail(Err::kBadRoom);
            rooms.emplace_back(*s);
        } else if (*t == MP_UINT || *t == MP_INT) {
            auto v = in.integer();
            if (!v) return fail(v.error());
            rooms.emplace_back();
            append_number(rooms.back(), *v);
        } else {
            return fail(Err::kBadRoom);
        }
    }
    return rooms;
}

}  // namespace

std::string_view to_string(EmitterError error) noexcept { return info(error).label; }
std::string_view message(EmitterError error) noexcept { return info(error).message; }
bool is_ignored(EmitterError error) noexcept { return info(error).ignored; }

ParsedChannel parse_channel(std::string_view channel, std::string_view prefix) noexcept {
    if (channel.size() <= prefix.size() || channel.substr(0, prefix.size()) != prefix) return {};
    std::string_view rest = channel.substr(prefix.size());
    if (rest == "-request#/#") return {EmitterChannel::kRequest, {}};
    constexpr std::string_view kNamespace = "#/#";
    if (rest.substr(0, kNamespace.size()) != kNamespace) return {};
    rest.remove_prefix(kNamespace.size());
    if (rest.empty()) return {EmitterChannel::kBroadcast, {}};
    // <room># — the room itself may contain '#' (the adapter strips only the last one).
    if (rest.size() < 2 || rest.back() != '#') return {};
    return {EmitterChannel::kRoom, rest.substr(0, rest.size() - 1)};
}

std::string emitter_broadcast_channel(std::string_view prefix) {
    std::string out(prefix);
    out.append("#/#");
    return out;
}

std::string emitter_room_channel(std::string_view room, std::string_view prefix) {
    std::string out = emitter_broadcast_channel(prefix);
    out.append(room).push_back('#');
    return out;
}

std::string emitter_request_channel(std::string_view prefix) {
    std::string out(prefix);
    out.append("-request#/#");
    return out;
}

Result<EmitterBroadcast, EmitterError> decode_broadcast(std::string_view payload,
                                                        const EmitterLimits& limits) {
    Reader in(payload);
    // [uid, packet, opts]
    auto top = in.array();
    if (!top) return fail(top.error());
    if (*top != 3) return fail(Err::kMalformed);
    if (auto ok = in.skip(); !ok) return fail(ok.error());  // uid: who published; any server

    // packet {type, data, nsp}: only remember where data is until the namespace and the type
    // say the packet is ours.
    auto packet_size = in.map();
    if (!packet_size) return fail(packet_size.error());
    std::optional<std::int64_t> packet_type;
    std::string_view nsp = "/";  // the adapter's default when nsp is absent
    std::optional<Reader> data;
    for (std::uint32_t i = 0; i < *packet_size; ++i) {
        auto key = in.str();
        if (!key) return fail(key.error());
        if (*key == "type") {
            auto t = in.integer();
            if (!t) return fail(t.error());
            packet_type = *t;
        } else if (*key == "nsp") {
            auto t = in.peek();
            if (!t) return fail(t.error());
            if (*t == MP_NIL) {
                if (auto ok = in.nil(); !ok) return fail(ok.error());
            } else {
                auto s = in.str();
                if (!s) return fail(s.error());
                nsp = *s;
            }
        } else if (*key == "data") {
            data.emplace(in.pos(), in.end());
            if (auto ok = in.skip(); !ok) return fail(ok.error());
        } else {
            if (auto ok = in.skip(); !ok) return fail(ok.error());
        }
    }

    // opts {rooms, except, flags}: flags (volatile, compress, ...) are skipped, not acted on.
    auto opts_size = in.map();
    if (!opts_size) return fail(opts_size.error());
    std::optional<Reader> rooms_at;
    std::optional<Reader> except_at;
    for (std::uint32_t i = 0; i < *opts_size; ++i) {
        auto key = in.str();
        if (!key) return fail(key.error());
        if (*key == "rooms") rooms_at.emplace(in.pos(), in.end());
        if (*key == "except") except_at.emplace(in.pos(), in.end());
        if (auto ok = in.skip(); !ok) return fail(ok.error());
    }
    if (!in.at_end()) return fail(Err::kMalformed);

    if (nsp != "/") return fail(Err::kOtherNamespace);
    if (!packet_type) return fail(Err::kMalformed);
    if (*packet_type == kPacketBinaryEvent) return fail(Err::kBinary);
    if (*packet_type != kPacketEvent) return fail(Err::kNotAnEvent);
    if (!data) return fail(Err::kMalformed);

    std::vector<std::string> rooms;
    if (rooms_at) {
        auto r = msgpack_rooms(*rooms_at, limits.max_rooms, limits);
        if (!r) return fail(r.error());
        rooms = std::move(*r);
    }
    std::vector<std::string> except;
    if (except_at) {
        auto r = msgpack_rooms(*except_at, limits.max_rooms - rooms.size(), limits);
        if (!r) return fail(r.error());
        except = std::move(*r);
    }

    // data: [event, ...args]
    if (auto t = data->peek(); !t || *t != MP_ARRAY) return fail(Err::kMalformed);
    auto argc = data->array();
    if (!argc) return fail(argc.error());
    if (*argc == 0) return fail(Err::kBadEvent);
    if (auto t = data->peek(); !t || *t != MP_STR) return fail(Err::kBadEvent);
    auto event = data->str();
    if (!event) return fail(event.error());
    if (!valid_name(*event, limits)) return fail(Err::kBadEvent);
    if (sio::is_reserved_event(*event)) return fail(Err::kReservedEvent);

    std::string data_json;
    for (std::uint32_t i = 1; i < *argc; ++i) {
        if (i != 1) data_json.push_back(',');
        if (auto ok = append_json_value(*data, limits, data_json); !ok) return fail(ok.error());
    }

    if (rooms.empty()) {
        return EveryoneEmit{std::move(except), std::string(*event), std::move(data_json)};
    }
    hub::Emit emit;
    emit.rooms = std::move(rooms);
    emit.except = std::move(except);
    emit.event = std::string(*event);
    emit.data_json = std::move(data_json);
    return emit;
}

namespace {

namespace json = boost::json;

// A JSON list of rooms: absent or null is empty; strings, or integers as their decimal text.
Decoded<std::vector<std::string>> json_rooms(const json::value* value, std::size_t budget,
                                             const EmitterLimits& limits) {
    std::vector<std::string> rooms;
    if (value == nullptr || value->is_null()) return rooms;
    if (!value->is_array()) return fail(Err::kBadRoom);
    const json::array& array = value->get_array();
    if (array.size() > budget) return fail(Err::kTooManyRooms);
    rooms.reserve(array.size());
    for (const json::value& room : array) {
        if (room.is_string()) {
            const std::string_view name(room.get_string().data(), room.get_string().size());
            if (!valid_name(name, limits)) return fail(Err::kBadRoom);
            rooms.emplace_back(name);
        } else if (room.is_int64()) {
            rooms.emplace_back();
            append_number(rooms.back(), room.get_int64());
        } else if (room.is_uint64()) {
            rooms.emplace_back();
            append_number(rooms.back(), room.get_uint64());
        } else {
            return fail(Err::kBadRoom);
        }
    }
    return rooms;
}

}  // namespace

Result<EmitterRequest, EmitterError> decode_request(std::string_view payload,
                                                    const EmitterLimits& limits) {
    boost::system::error_code ec;
    const json::value request = json::parse(payload, ec);
    if (ec || !request.is_object()) return fail(Err::kMalformed);
    const json::object& object = request.get_object();
    const json::value* type_value = object.if_contains("type");
    if (type_value == nullptr || !type_value->is_int64()) return fail(Err::kMalformed);

    hub::RoomOpKind kind = hub::RoomOpKind::kJoin;
    switch (static_cast<RequestType>(type_value->get_int64())) {
        case RequestType::kRemoteJoin:
            kind = hub::RoomOpKind::kJoin;
            break;
        case RequestType::kRemoteLeave:
            kind = hub::RoomOpKind::kLeave;
            break;
        case RequestType::kRemoteDisconnect:
            kind = hub::RoomOpKind::kDisconnect;
            break;
        case RequestType::kSockets:
        case RequestType::kRemoteFetch:
            return fail(Err::kSocketsRequest);
        case RequestType::kAllRooms:
            return fail(Err::kAllRoomsRequest);
        case RequestType::kServerSideEmit:
            return fail(Err::kServerSideEmit);
        case RequestType::kBroadcast:
        case RequestType::kBroadcastClientCount:
        case RequestType::kBroadcastAck:
            return fail(Err::kAckRequest);
        default:
            return fail(Err::kUnknownRequestType);
    }

    // Without opts the request names one Socket.IO sid of another server (remoteJoin & co.).
    const json::value* opts_value = object.if_contains("opts");
    if (opts_value == nullptr || opts_value->is_null()) return fail(Err::kSingleSocketRequest);
    if (!opts_value->is_object()) return fail(Err::kMalformed);
    const json::object& opts = opts_value->get_object();

    auto rooms = json_rooms(opts.if_contains("rooms"), limits.max_rooms, limits);
    if (!rooms) return fail(rooms.error());
    auto except = json_rooms(opts.if_contains("except"), limits.max_rooms - rooms->size(), limits);
    if (!except) return fail(except.error());

    std::vector<std::string> targets;
    if (kind != hub::RoomOpKind::kDisconnect) {
        const json::value* targets_value = object.if_contains("rooms");
        if (targets_value == nullptr) return fail(Err::kMalformed);
        auto t =
            json_rooms(targets_value, limits.max_rooms - rooms->size() - except->size(), limits);
        if (!t) return fail(t.error());
        if (t->empty()) return fail(Err::kNoTargets);
        targets = std::move(*t);
    }

    if (rooms->empty()) return EveryoneRoomOp{kind, std::move(*except), std::move(targets)};
    hub::RoomOp op;
    op.kind = kind;
    op.rooms = std::move(*rooms);
    op.except = std::move(*except);
    op.targets = std::move(targets);
    return op;
}

}  // namespace nudge::broker
