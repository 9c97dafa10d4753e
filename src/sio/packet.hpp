// Socket.IO v5 packets, carried inside Engine.IO message packets. Pure codec.
//
// Wire form: <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>], the namespace
// present only when it is not "/". The encoders return the whole Engine.IO message text
// (leading '4') because that is what a transport sends: a WebSocket frame's payload, or one
// packet of a long-polling payload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace nudge::sio {

enum class PacketType : char {
    kConnect = '0',
    kDisconnect = '1',
    kEvent = '2',
    kAck = '3',
    kConnectError = '4',
    kBinaryEvent = '5',
    kBinaryAck = '6',
};

struct Packet {
    PacketType type;
    std::uint32_t attachments = 0;    // binary packets only
    std::string_view nsp = "/";
    std::optional<std::uint64_t> ack_id;
    std::string_view payload;         // raw JSON text, possibly empty; not validated here
};

enum class PacketError { kEmpty, kUnknownType, kBadAttachments, kBadAckId };

[[nodiscard]] Result<Packet, PacketError> decode(std::string_view text);

// Whether the payload has the shape the packet type requires (Socket.IO v5 spec, "Packet
// format"; socket.io-parser's isPayloadValid): CONNECT an object or nothing; DISCONNECT
// nothing; EVENT/BINARY_EVENT a non-empty array whose first element is a non-reserved event
// name (or a number, which socket.io-parser also accepts); ACK/BINARY_ACK an array and an ack
// id; CONNECT_ERROR an object or a string. Parses the JSON, so call it only on client input
// that is about to be acted on.
[[nodiscard]] bool payload_valid(const Packet& packet);

// Reserved event names that may not be emitted by applications (socket.io's RESERVED_EVENTS).
[[nodiscard]] bool is_reserved_event(std::string_view name) noexcept;

// `text` as a JSON string literal, quotes included.
[[nodiscard]] std::string json_quote(std::string_view text);
// `40{"sid":"…"}`
[[nodiscard]] std::string encode_connect(std::string_view nsp, std::string_view sid);
// `40{"sid":"…","pid":"…"}`: the answer of a server with connection-state recovery.
[[nodiscard]] std::string encode_connect(std::string_view nsp, std::string_view sid,
                                         std::string_view pid);
// `44[<nsp>,]{"message":…[,"data":<data_json>]}`; data_json must be valid JSON when given.
[[nodiscard]] std::string encode_connect_error(std::string_view nsp, std::string_view message,
                                               std::string_view data_json = {});
// `42[<nsp>,]["<event>"[,<data_json>]]`; data_json must be valid JSON when non-empty.
[[nodiscard]] std::string encode_event(std::string_view nsp, std::string_view event,
                                       std::string_view data_json);
// `42[<nsp>,]["<event>",<data_json>,"<trailing>"]`: an event whose last argument is a string
// (the recovery offset); data_json must be valid JSON.
[[nodiscard]] std::string encode_event(std::string_view nsp, std::string_view event,
                                       std::string_view data_json, std::string_view trailing);
// `43[<nsp>,]<id><args_json_array>`
[[nodiscard]] std::string encode_ack(std::string_view nsp, std::uint64_t id,
                                     std::string_view args_json_array);
// `41[<nsp>,]`
[[nodiscard]] std::string encode_disconnect(std::string_view nsp);

}  // namespace nudge::sio
