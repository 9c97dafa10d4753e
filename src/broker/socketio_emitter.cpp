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

#include "sio/packet.hpp"
#include "ws/utf8.hpp"

namespace nudge::broker {

namespace {

using Err = EmitterError;
template <class T>
using Decoded = Result<T, EmitterError>;

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

std::uint8_t byte_at(const char* p) noexcept { return static_cast<std::uint8_t>(*p); }

std::uint64_t load_be(const char* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8U) | byte_at(p + i);
    return v;
}

template <class T>
void append_number(std::string& out, T value) {
    std::array<char, 32> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    if (ec == std::errc{}) out.append(buf.data(), end);
}

void append_double(std::string& out, double value) {
    // JSON has no NaN or infinities; JSON.stringify writes them as null.
    if (!std::isfinite(value)) {
        out.append("null");
        return;
    }
    append_number(out, value);  // shortest form that reads back the same double
}

// `text` (valid UTF-8) as a JSON string literal (RFC 8259 §7).
void append_json_string(std::string& out, std::string_view text) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    out.push_back('"');
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\f':
                out.append("\\f");
                break;
            default:
                if (u < 0x20) {
                    out.append("\\u00");
                    out.push_back(kHex[u >> 4U]);
                    out.push_back(kHex[u & 0x0fU]);
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

void append_padded(std::string& out, long long value, int width) {
    std::array<char, 24> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    if (ec != std::errc{}) return;
    for (auto len = static_cast<int>(end - buf.data()); len < width; ++len) out.push_back('0');
    out.append(buf.data(), end);
}

// A bounded reader over msgpack bytes. MsgPuck's mp_decode_* trust their input, so every value
// is checked against the end first: a scalar or string whole with mp_check (O(1) for those), a
// container by its header here. mp_check is not used on containers we descend into: it adds
// 32-bit element counts into an int, so a forged count can make it accept a truncated array.
class Reader {
public:
    explicit Reader(std::string_view bytes) noexcept
        : pos_(bytes.data()), end_(bytes.data() + bytes.size()) {}
    Reader(const char* pos, const char* end) noexcept : pos_(pos), end_(end) {}

    [[nodiscard]] bool at_end() const noexcept { return pos_ == end_; }
    [[nodiscard]] const char* pos() const noexcept { return pos_; }
    [[nodiscard]] const char* end() const noexcept { return end_; }

    [[nodiscard]] Decoded<mp_type> peek() const noexcept {
        if (pos_ == end_) return fail(Err::kMalformed);
        return mp_typeof(*pos_);
    }

    [[nodiscard]] Decoded<std::uint32_t> array() noexcept { return header(false); }
    [[nodiscard]] Decoded<std::uint32_t> map() noexcept { return header(true); }

    [[nodiscard]] Decoded<std::string_view> str() noexcept {
        auto ok = check_one(MP_STR);
        if (!ok) return fail(ok.error());
        std::uint32_t len = 0;
        const char* data = mp_decode_str(&pos_, &len);
        return std::string_view(data, len);
    }

    [[nodiscard]] Decoded<bool> boolean() noexcept {
        auto ok = check_one(MP_BOOL);
        if (!ok) return fail(ok.error());
        return mp_decode_bool(&pos_);
    }

    [[nodiscard]] Decoded<void> nil() noexcept {
        auto ok = check_one(MP_NIL);
        if (!ok) return fail(ok.error());
        mp_decode_nil(&pos_);
        return {};
    }

    [[nodiscard]] Decoded<std::uint64_t> uint() noexcept {
        auto ok = check_one(MP_UINT);
        if (!ok) return fail(ok.error());
        return mp_decode_uint(&pos_);
    }

    [[nodiscard]] Decoded<std::int64_t> negative_int() noexcept {
        auto ok = check_one(MP_INT);
        if (!ok) return fail(ok.error());
        return mp_decode_int(&pos_);
    }

    // An integer of either msgpack family; unsigned values above INT64_MAX saturate.
    [[nodiscard]] Decoded<std::int64_t> integer() noexcept {
        auto type = peek();
        if (!type) return fail(type.error());
        if (*type == MP_INT) return negative_int();
        auto u = uint();
        if (!u) return fail(u.error());
        constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        return static_cast<std::int64_t>(*u > kMax ? kMax : *u);
    }

    [[nodiscard]] Decoded<double> floating() noexcept {
        auto type = peek();
        if (!type) return fail(type.error());
        auto ok = check_one(*type);
        if (!ok) return fail(ok.error());
        if (*type == MP_FLOAT) return static_cast<double>(mp_decode_float(&pos_));
        return mp_decode_double(&pos_);
    }

    // The bytes of one extension value (type byte and data), checked against the end.
    struct Ext {
        std::int8_t type;
        std::string_view data;
    };
    [[nodiscard]] Decoded<Ext> ext() noexcept {
        auto ok = check_one(MP_EXT);
        if (!ok) return fail(ok.error());
        const std::uint8_t c = byte_at(pos_);
        std::size_t header = 0;
        std::size_t len = 0;
        switch (c) {
            case 0xd4:
                header = 1;
                len = 1;
                break;
            case 0xd5:
                header = 1;
                len = 2;
                break;
            case 0xd6:
                header = 1;
                len = 4;
                break;
            case 0xd7:
                header = 1;
                len = 8;
                break;
            case 0xd8:
                header = 1;
                len = 16;
                break;
            case 0xc7:
                header = 2;
                len = byte_at(pos_ + 1);
                break;
            case 0xc8:
                header = 3;
                len = load_be(pos_ + 1, 2);
                break;
            case 0xc9:
                header = 5;
                len = load_be(pos_ + 1, 4);
                break;
            default:
                return fail(Err::kExtension);  // 0xc1, never used
        }
        const auto type = static_cast<std::int8_t>(byte_at(pos_ + header));
        Ext out{type, std::string_view(pos_ + header + 1, len)};
        pos_ = next_;
        return out;
    }

    // Skips one value of any type, elements included.
    [[nodiscard]] Decoded<void> skip() noexcept {
        const char* p = pos_;
        if (p == end_ || mp_check(&p, end_) != 0) return fail(Err::kMalformed);
        pos_ = p;
        return {};
    }

private:
    // Checks that one non-container value of `type` starts at pos_ and ends by end_.
    [[nodiscard]] Decoded<void> check_one(mp_type type) noexcept {
        if (pos_ == end_ || mp_typeof(*pos_) != type) return fail(Err::kMalformed);
        const char* p = pos_;
        if (mp_check(&p, end_) != 0) return fail(Err::kMalformed);
        next_ = p;
        return {};
    }

    [[nodiscard]] Decoded<std::uint32_t> header(bool is_map) noexcept {
        if (pos_ == end_) return fail(Err::kMalformed);
        const std::uint8_t c = byte_at(pos_);
        std::size_t need = 1;
        if (c == (is_map ? 0xde : 0xdc)) {
            need = 3;
        } else if (c == (is_map ? 0xdf : 0xdd)) {
            need = 5;
        } else if ((c & 0xf0U) != (is_map ? 0x80U : 0x90U)) {
            return fail(Err::kMalformed);
        }
        if (static_cast<std::size_t>(end_ - pos_) < need) return fail(Err::kMalformed);
        const std::uint32_t count = is_map ? mp_decode_map(&pos_) : mp_decode_array(&pos_);
        // Every element takes at least a byte: a count the rest cannot hold is a lie, and must
        // not size an allocation.
        const auto left = static_cast<std::size_t>(end_ - pos_);
        if (count > (is_map ? left / 2 : left)) return fail(Err::kMalformed);
        return count;
    }

    const char* pos_;
    const char* end_;
    const char* next_ = nullptr;  // end of the value check_one last accepted
};

// A msgpack timestamp (extension type -1) as Date.prototype.toJSON writes it:
// "YYYY-MM-DDTHH:mm:ss.sssZ". Years outside 0..9999 (which JSON.stringify writes with a sign and
// six digits) are refused as an unsupported extension.
Decoded<void> append_timestamp(std::string& out, std::string_view data) {
    std::int64_t seconds = 0;
    std::uint64_t nanos = 0;
    if (data.size() == 4) {
        seconds = static_cast<std::int64_t>(load_be(data.data(), 4));
    } else if (data.size() == 8) {
        const std::uint64_t v = load_be(data.data(), 8);
        nanos = v >> 34U;
        seconds = static_cast<std::int64_t>(v & 0x3ffffffffULL);
    } else if (data.size() == 12) {
        nanos = load_be(data.data(), 4);
        seconds = static_cast<std::int64_t>(load_be(data.data() + 4, 8));
    } else {
        return fail(Err::kMalformed);
    }
    if (nanos >= 1'000'000'000U) return fail(Err::kMalformed);
    constexpr std::int64_t kYear0 = -62167219200;    // 0000-01-01T00:00:00Z
    constexpr std::int64_t kYear10k = 253402300800;  // 10000-01-01T00:00:00Z
    if (seconds < kYear0 || seconds >= kYear10k) return fail(Err::kExtension);

    using namespace std::chrono;
    const sys_seconds at{std::chrono::seconds{seconds}};
    const auto day = floor<days>(at);
    const year_month_day date{day};
    const hh_mm_ss time{at - day};
    out.push_back('"');
    append_padded(out, static_cast<int>(date.year()), 4);
    out.push_back('-');
    append_padded(out, static_cast<unsigned>(date.month()), 2);
    out.push_back('-');
    append_padded(out, static_cast<unsigned>(date.day()), 2);
    out.push_back('T');
    append_padded(out, time.hours().count(), 2);
    out.push_back(':');
    append_padded(out, time.minutes().count(), 2);
    out.push_back(':');
    append_padded(out, time.seconds().count(), 2);
    out.push_back('.');
    append_padded(out, static_cast<long long>(nanos / 1'000'000U), 3);
    out.append("Z\"");
    return {};
}

class JsonWriter {
public:
    JsonWriter(Reader& in, const EmitterLimits& limits) noexcept : in_(in), limits_(limits) {}

    // Converts the next msgpack value into JSON text appended to `out`.
    Decoded<void> value(std::string& out, std::size_t depth) {  // NOLINT(misc-no-recursion)
        auto type = in_.peek();
        if (!type) return fail(type.error());
        switch (*type) {
            case MP_NIL: {
                auto ok = in_.nil();
                if (!ok) return ok;
                out.append("null");
                break;
            }
            case MP_BOOL: {
                auto b = in_.boolean();
                if (!b) return fail(b.error());
                out.append(*b ? "true" : "false");
                break;
            }
            case MP_UINT: {
                auto u = in_.uint();
                if (!u) return fail(u.error());
                append_number(out, *u);
                break;
            }
            case MP_INT: {
                auto i = in_.negative_int();
                if (!i) return fail(i.error());
                append_number(out, *i);
                break;
            }
            case MP_FLOAT:
            case MP_DOUBLE: {
                auto d = in_.floating();
                if (!d) return fail(d.error());
                append_double(out, *d);
                break;
            }
            case MP_STR: {
                auto text = string();
                if (!text) return fail(text.error());
                if (auto ok = append_string(out, *text); !ok) return ok;
                break;
            }
            case MP_BIN:
                return fail(Err::kBinary);
            case MP_EXT: {
                auto e = in_.ext();
                if (!e) return fail(e.error());
                if (e->type != -1) return fail(Err::kExtension);
                auto ok = append_timestamp(out, e->data);
                if (!ok) return ok;
                break;
            }
            case MP_ARRAY: {
                if (depth >= limits_.max_depth) return fail(Err::kTooDeep);
                auto n = in_.array();
                if (!n) return fail(n.error());
                out.push_back('[');
                for (std::uint32_t i = 0; i < *n; ++i) {
                    if (i != 0) out.push_back(',');
                    auto ok = value(out, depth + 1);
                    if (!ok) return ok;
                }
                out.push_back(']');
                break;
            }
            case MP_MAP: {
                if (depth >= limits_.max_depth) return fail(Err::kTooDeep);
                auto n = in_.map();
                if (!n) return fail(n.error());
                out.push_back('{');
                for (std::uint32_t i = 0; i < *n; ++i) {
                    if (i != 0) out.push_back(',');
                    auto key_type = in_.peek();
                    if (!key_type) return fail(key_type.error());
                    if (*key_type != MP_STR) return fail(Err::kBadMapKey);
                    auto key = string();
                    if (!key) return fail(key.error());
                    if (auto ok = append_string(out, *key); !ok) return ok;
                    out.push_back(':');
                    auto ok = value(out, depth + 1);
                    if (!ok) return ok;
                }
                out.push_back('}');
                break;
            }
        }
        if (out.size() > limits_.max_data_bytes) return fail(Err::kTooLarge);
        return {};
    }

private:
    Decoded<void> append_string(std::string& out, std::string_view text) const {
        // Escaping only grows a string: refuse before copying what cannot fit.
        if (out.size() + text.size() > limits_.max_data_bytes) return fail(Err::kTooLarge);
        append_json_string(out, text);
        return {};
    }

    Decoded<std::string_view> string() noexcept {
        auto s = in_.str();
        if (!s) return s;
        if (!ws::is_valid_utf8(*s)) return fail(Err::kBadString);
        return s;
    }

    Reader& in_;
    const EmitterLimits& limits_;
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
    JsonWriter writer(*data, limits);
    for (std::uint32_t i = 1; i < *argc; ++i) {
        if (i != 1) data_json.push_back(',');
        if (auto ok = writer.value(data_json, 0); !ok) return fail(ok.error());
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
