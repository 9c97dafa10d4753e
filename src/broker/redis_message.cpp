#include "broker/redis_message.hpp"

#include "common/authority.hpp"
#include "common/event_version.hpp"

#include <vector>

namespace nudge::broker {

namespace {

// Rooms, except lists and batches are bounded by the publish API long before this.
constexpr std::uint64_t kMaxListSize = 1U << 20;

void put(std::string& out, std::string_view field) {
    out += std::to_string(field.size());
    out.push_back(':');
    out.append(field);
}

void put_list(std::string& out, const std::vector<std::string>& list) {
    put(out, std::to_string(list.size()));
    for (const auto& item : list) put(out, item);
}

// Reads fields from the front of `in`.
class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}

    std::optional<std::string_view> field() {
        const auto colon = in_.find(':');
        if (colon == std::string_view::npos || colon > 10) return std::nullopt;
        const auto size = parse_decimal<std::uint64_t>(in_.substr(0, colon));
        if (!size || *size > in_.size() - colon - 1) return std::nullopt;
        const std::string_view value = in_.substr(colon + 1, *size);
        in_.remove_prefix(colon + 1 + *size);
        return value;
    }

    bool list(std::vector<std::string>& out) {
        const auto count_text = field();
        const auto count = count_text ? parse_decimal<std::uint64_t>(*count_text) : std::nullopt;
        if (!count || *count > kMaxListSize) return false;
        out.clear();
        for (std::uint64_t i = 0; i < *count; ++i) {
            const auto item = field();
            if (!item) return false;
            out.emplace_back(*item);
        }
        return true;
    }

    [[nodiscard]] bool done() const noexcept { return in_.empty(); }

    // Skips the fields a newer minor version appended; false when what is left is not fields.
    bool skip_rest() {
        while (!done()) {
            if (!field()) return false;
        }
        return true;
    }

private:
    std::string_view in_;
};

// Since v1.1: the event's version and spread, when the message has them (a message of v1.0 or
// before ends after the except list). A version that is not canonical or a spread above the
// maximum is a malformed message: the hub validated both before writing them.
bool read_fields(Reader& reader, hub::Emit& emit) {
    if (reader.done()) return true;
    const auto version = reader.field();
    const auto spread_text = reader.field();
    if (!version || !spread_text) return false;
    if (!version->empty()) {
        const auto parsed = parse_event_version(*version);
        if (!parsed || parsed->text != *version) return false;
        emit.version = parsed->text;
    }
    const auto spread = parse_decimal<std::uint32_t>(*spread_text);
    if (!spread || *spread > hub::kMaxSpreadMs) return false;
    emit.spread_ms = *spread;
    return true;
}

// The fields after the version header; nullopt when the message is of a major version this
// hub cannot read. A message without a header comes from a hub before the versioned format.
std::optional<std::string_view> unversioned(std::string_view in) {
    if (in.empty() || in.front() != 'v') return in;
    if (in.size() < 3 || in[1] != kWireMajor || in[2] < '0' || in[2] > '9') return std::nullopt;
    return in.substr(3);
}

void put_version(std::string& out) {
    out.push_back('v');
    out.push_back(kWireMajor);
    out.push_back(kWireMinor);
}

// The next space-separated word of `in`, removed from it.
std::optional<std::string_view> word(std::string_view& in) {
    const auto space = in.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const std::string_view w = in.substr(0, space);
    in.remove_prefix(space + 1);
    return w;
}

}  // namespace

std::string encode_event_body(const hub::Emit& emit) {
    std::string out;
    out.reserve(emit.event.size() + emit.data_json.size() + emit.id.size() + emit.version.size() + 40 +
                16 * emit.rooms.size());
    put_version(out);
    put(out, emit.event);
    put(out, emit.data_json);
    put(out, emit.id);
    put_list(out, emit.rooms);
    put_list(out, emit.except);
    put(out, emit.version);
    put(out, std::to_string(emit.spread_ms));
    return out;
}

std::optional<RedisEvent> decode_event(std::string_view message) {
    RedisEvent event;
    const auto epoch = word(message);
    const auto seq_text = word(message);
    const auto ms_text = word(message);
    const auto seq = seq_text ? parse_decimal<std::uint64_t>(*seq_text) : std::nullopt;
    const auto ms = ms_text ? parse_decimal<std::uint64_t>(*ms_text) : std::nullopt;
    if (!epoch || epoch->empty() || !seq || !ms) return std::nullopt;
    event.emit.seq = *seq;
    event.ms = *ms;
    event.epoch = std::string(*epoch);
    const auto body = unversioned(message);
    if (!body) return std::nullopt;
    Reader reader(*body);
    const auto name = reader.field();
    const auto data = reader.field();
    const auto id = reader.field();
    if (!name || name->empty() || !data || !id) return std::nullopt;
    event.emit.event = std::string(*name);
    event.emit.data_json = std::string(*data);
    event.emit.id = std::string(*id);
    if (!reader.list(event.emit.rooms) || event.emit.rooms.empty() || !reader.list(event.emit.except) ||
        !read_fields(reader, event.emit) || !reader.skip_rest()) {
        return std::nullopt;
    }
    return event;
}

std::string encode_room_op(const hub::RoomOp& op) {
    std::string out;
    put_version(out);
    out.append(hub::to_string(op.kind));
    out.push_back(' ');
    put_list(out, op.rooms);
    put_list(out, op.except);
    put_list(out, op.targets);
    return out;
}

std::optional<hub::RoomOp> decode_room_op(std::string_view whole) {
    auto message = unversioned(whole);
    if (!message) return std::nullopt;
    const auto kind = word(*message);
    if (!kind) return std::nullopt;
    hub::RoomOp op;
    bool known = false;
    for (const auto k : {hub::RoomOpKind::kJoin, hub::RoomOpKind::kLeave, hub::RoomOpKind::kDisconnect}) {
        if (*kind == hub::to_string(k)) {
            op.kind = k;
            known = true;
        }
    }
    Reader reader(*message);
    if (!known || !reader.list(op.rooms) || op.rooms.empty() || !reader.list(op.except) ||
        !reader.list(op.targets) || !reader.skip_rest()) {
        return std::nullopt;
    }
    return op;
}

}  // namespace nudge::broker
