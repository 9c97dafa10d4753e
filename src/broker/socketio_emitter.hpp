// Decoding what Socket.IO's `@socket.io/redis-emitter` 5.x publishes into Redis, into nudge's own
// types, so a Node backend that already uses the emitter can publish to nudge hubs unchanged.
// Pure functions: no I/O, no logging, never throw on any input, thread-safe. The Redis broker
// subscribes to the channels below and hands each message here; every refusal is a value
// (EmitterError) with a stable label and a short reason that never quotes the payload.
//
// On the wire (emitter lib/index.ts, read by socket.io-redis-adapter lib/index.ts onmessage and
// onrequest), with the default key prefix "socket.io" and namespace "/":
//   PUBLISH socket.io#/#          msgpack [uid, packet, opts]: no room or several rooms
//   PUBLISH socket.io#/#<room>#   the same, when exactly one room is targeted
//   PUBLISH socket.io-request#/#  JSON {"type": n, "opts": {"rooms", "except"}, "rooms" | "close"}
// where packet = {type: 2 (EVENT), data: [event, ...args], nsp: "/"} and
// opts = {rooms: [...], except: [...], flags: {volatile?, compress?}}.
// The emitter 5.1 (the newest on npm) has no sharded mode: it PUBLISHes even on a Redis
// Cluster, where a PUBLISH reaches the subscribers of every node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "hub/emit.hpp"
#include "hub/room_op.hpp"

namespace nudge::broker {

// The emitter's default `key` option.
inline constexpr std::string_view kEmitterDefaultPrefix = "socket.io";

enum class EmitterChannel : std::uint8_t {
    kBroadcast,  // <prefix>#/#          an event to no room (everyone) or to several rooms
    kRoom,       // <prefix>#/#<room>#   an event to exactly that room
    kRequest,    // <prefix>-request#/#  socketsJoin, socketsLeave, disconnectSockets, ...
    kNotOurs,    // anything else, including other namespaces (<prefix>#/admin#...)
};

struct ParsedChannel {
    EmitterChannel kind = EmitterChannel::kNotOurs;
    std::string_view room;  // for kRoom: a view into the channel name given to parse_channel
};

[[nodiscard]] ParsedChannel parse_channel(std::string_view channel,
                                          std::string_view prefix = kEmitterDefaultPrefix) noexcept;

// The names to SUBSCRIBE to: the broadcast channel, one room's channel, the request channel.
[[nodiscard]] std::string emitter_broadcast_channel(
    std::string_view prefix = kEmitterDefaultPrefix);
[[nodiscard]] std::string emitter_room_channel(std::string_view room,
                                               std::string_view prefix = kEmitterDefaultPrefix);
[[nodiscard]] std::string emitter_request_channel(std::string_view prefix = kEmitterDefaultPrefix);

// Why a message was not turned into an event or a room operation. The first group is valid
// Socket.IO traffic that nudge deliberately does not act on (is_ignored: log at debug); the
// second is a message nudge refuses (malformed, or something it cannot carry: log rate-limited).
enum class EmitterError : std::uint8_t {
    // ignored
    kOtherNamespace,       // packet.nsp is not "/"
    kNotAnEvent,           // packet.type is not EVENT (2)
    kSocketsRequest,       // allSockets/fetchSockets-style requests (types 0, 5): not answered
    kAllRoomsRequest,      // type 1: not answered
    kServerSideEmit,       // type 6: nudge runs no server-side handlers
    kAckRequest,           // types 7-9: broadcasts with acknowledgements (server to server)
    kSingleSocketRequest,  // join/leave/disconnect of one Socket.IO sid (no "opts")
    kNoTargets,            // socketsJoin([]) / socketsLeave([]): nothing to do
    // refused
    kMalformed,           // not msgpack (or JSON), truncated, trailing bytes, wrong shape
    kBadEvent,            // event name missing, empty, too long or not UTF-8
    kReservedEvent,       // connect, disconnect, ... (as the publish API)
    kBinary,              // a binary argument (msgpack bin, BINARY_EVENT): nudge carries JSON
    kExtension,           // a msgpack extension other than a timestamp
    kBadMapKey,           // an object key that is not a string
    kBadString,           // a string argument that is not UTF-8
    kTooDeep,             // arguments nested deeper than EmitterLimits::max_depth
    kTooLarge,            // arguments' JSON above EmitterLimits::max_data_bytes
    kBadRoom,             // a room that is not a non-empty UTF-8 string (or an integer)
    kTooManyRooms,        // more than EmitterLimits::max_rooms rooms in all lists together
    kUnknownRequestType,  // a request type Socket.IO does not define
    kCount,               // number of errors above; not an error
};

// Stable snake_case label (logs, metric label): "other_namespace", "binary", ...
[[nodiscard]] std::string_view to_string(EmitterError error) noexcept;
// A short sentence for the log line; never contains payload bytes.
[[nodiscard]] std::string_view message(EmitterError error) noexcept;
// True for the first group: valid traffic nudge does not act on.
[[nodiscard]] bool is_ignored(EmitterError error) noexcept;

// Bounds on what one message may carry. The defaults are the publish API's (api::PublishLimits).
struct EmitterLimits {
    std::size_t max_rooms = 1000;      // rooms + except (+ targets) of one message
    std::size_t max_name_bytes = 256;  // event and room names
    std::size_t max_depth = 32;        // arrays/objects nested in one argument
    std::size_t max_data_bytes = std::size_t{1} << 20U;  // the JSON text of all arguments together
};

// The emitter's "no room" (`io.emit(...)`, `io.except(...).emit(...)`): every socket of the
// hub's namespace except the members of `except`. nudge's hub::Emit always names rooms, so this
// is its own kind; the broker delivers it to every local socket.
struct EveryoneEmit {
    std::vector<std::string> except;
    std::string event;
    std::string data_json;  // as hub::Emit::data_json (see decode_broadcast)
};

using EmitterBroadcast = std::variant<hub::Emit, EveryoneEmit>;

// A socketsJoin/socketsLeave/disconnectSockets without `to()`: every socket of the namespace
// except the members of `except`.
struct EveryoneRoomOp {
    hub::RoomOpKind kind = hub::RoomOpKind::kJoin;
    std::vector<std::string> except;
    std::vector<std::string> targets;  // rooms to join or leave; empty for kDisconnect
};

using EmitterRequest = std::variant<hub::RoomOp, EveryoneRoomOp>;

// A message of the broadcast or a room channel (msgpack). An EVENT to one or more rooms becomes
// a hub::Emit (id empty, seq 0, offset empty: the broker numbers it), to no room an
// EveryoneEmit. The arguments after the event name become JSON values joined by commas in
// data_json ("" for none), so hub::Hub::encode writes them as the event's arguments, in order:
// 42["event",arg1,arg2]. Integers, floats (NaN and infinities as null, as JSON.stringify),
// strings, booleans, nil (null), arrays and string-keyed maps are converted; msgpack timestamps
// (a JavaScript Date) become ISO 8601 strings, as Date.toJSON; binary is refused.
// opts.flags (volatile, compress, ...) are accepted and not acted on.
[[nodiscard]] Result<EmitterBroadcast, EmitterError> decode_broadcast(
    std::string_view payload, const EmitterLimits& limits = {});

// A message of the request channel (JSON). REMOTE_JOIN (2), REMOTE_LEAVE (3) and
// REMOTE_DISCONNECT (4) with opts become a hub::RoomOp (opts.rooms selects, opts.except
// excludes, "rooms" are the targets), or an EveryoneRoomOp when opts.rooms is empty.
// disconnectSockets' `close` flag is not carried: nudge always closes the connection after the
// DISCONNECT packet. Every other request type is ignored (see EmitterError).
[[nodiscard]] Result<EmitterRequest, EmitterError> decode_request(std::string_view payload,
                                                                  const EmitterLimits& limits = {});

}  // namespace nudge::broker
