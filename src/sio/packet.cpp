#include "sio/packet.hpp"

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <charconv>

namespace nudge::sio {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

void append_nsp(std::string& out, std::string_view nsp) {
    if (nsp != "/") {
        out.append(nsp);
        out.push_back(',');
    }
}

}  // namespace

std::string json_quote(std::string_view text) {
    return boost::json::serialize(boost::json::string(text));
}

Result<Packet, PacketError> decode(std::string_view text) {
    if (text.empty()) return fail(PacketError::kEmpty);
    Packet packet{};
    const char type = text.front();
    if (type < '0' || type > '6') return fail(PacketError::kUnknownType);
    packet.type = static_cast<PacketType>(type);
    text.remove_prefix(1);

    if (packet.type == PacketType::kBinaryEvent || packet.type == PacketType::kBinaryAck) {
        const auto dash = text.find('-');
        if (dash == std::string_view::npos || dash == 0) return fail(PacketError::kBadAttachments);
        const auto [end, ec] = std::from_chars(text.data(), text.data() + dash, packet.attachments);
        // A binary packet announces at least one attachment (socket.io-parser: n >= 1).
        if (ec != std::errc{} || end != text.data() + dash || packet.attachments == 0) {
            return fail(PacketError::kBadAttachments);
        }
        text.remove_prefix(dash + 1);
    }

    if (!text.empty() && text.front() == '/') {
        const auto comma = text.find(',');
        packet.nsp = text.substr(0, comma);
        text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    }

    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) ++digits;
    if (digits > 0) {
        std::uint64_t id = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, id);
        if (ec != std::errc{}) return fail(PacketError::kBadAckId);
        packet.ack_id = id;
        text.remove_prefix(digits);
    }
    packet.payload = text;
    return packet;
}

bool payload_valid(const Packet& packet) {
    if (packet.payload.empty()) {
        switch (packet.type) {
            case PacketType::kConnect:
            case PacketType::kDisconnect: return true;
            default: return false;
        }
    }
    std::error_code ec;
    const boost::json::value value =
        boost::json::parse(boost::json::string_view(packet.payload.data(), packet.payload.size()), ec);
    if (ec) return false;
    switch (packet.type) {
        case PacketType::kConnect: return value.is_object();
        case PacketType::kDisconnect: return false;
        case PacketType::kConnectError: return value.is_object() || value.is_string();
        case PacketType::kEvent:
        case PacketType::kBinaryEvent: {
            const boost::json::array* args = value.if_array();
            if (args == nullptr || args->empty()) return false;
            const boost::json::value& name = args->front();
            if (name.is_number()) return true;
            return name.is_string() &&
                   !is_reserved_event(std::string_view(name.get_string().data(), name.get_string().size()));
        }
        case PacketType::kAck:
        case PacketType::kBinaryAck: return value.is_array() && packet.ack_id.has_value();
    }
    return false;
}

bool is_reserved_event(std::string_view name) noexcept {
    static constexpr std::array<std::string_view, 6> kReserved = {
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};
    for (const auto reserved : kReserved) {
        if (name == reserved) return true;
    }
    return false;
}

std::string encode_connect(std::string_view nsp, std::string_view sid) {
    std::string out = "40";
    append_nsp(out, nsp);
    out.append(R"({"sid":)").append(json_quote(sid)).push_back('}');
    return out;
}

std::string encode_connect_error(std::string_view nsp, std::string_view message,
                                 std::string_view data_json) {
    std::string out = "44";
    append_nsp(out, nsp);
    out.append(R"({"message":)").append(json_quote(message));
    if (!data_json.empty()) out.append(R"(,"data":)").append(data_json);
    out.push_back('}');
    return out;
}

std::string encode_event(std::string_view nsp, std::string_view event, std::string_view data_json) {
    std::string out = "42";
    append_nsp(out, nsp);
    out.push_back('[');
    out.append(json_quote(event));
    if (!data_json.empty()) out.append(",").append(data_json);
    out.push_back(']');
    return out;
}

std::string encode_event(std::string_view nsp, std::string_view event, std::string_view data_json,
                         std::string_view trailing) {
    std::string out = "42";
    append_nsp(out, nsp);
    out.push_back('[');
    out.append(json_quote(event)).push_back(',');
    out.append(data_json).push_back(',');
    out.append(json_quote(trailing)).push_back(']');
    return out;
}

std::string encode_connect(std::string_view nsp, std::string_view sid, std::string_view pid) {
    std::string out = "40";
    append_nsp(out, nsp);
    out.append(R"({"sid":)").append(json_quote(sid)).append(R"(,"pid":)").append(json_quote(pid));
    out.push_back('}');
    return out;
}

std::string encode_ack(std::string_view nsp, std::uint64_t id, std::string_view args_json_array) {
    std::string out = "43";
    append_nsp(out, nsp);
    out.append(std::to_string(id)).append(args_json_array);
    return out;
}

std::string encode_disconnect(std::string_view nsp) {
    std::string out = "41";
    append_nsp(out, nsp);
    return out;
}

}  // namespace nudge::sio
