#include "api/publish_request.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/event_version.hpp"
#include "sio/packet.hpp"

namespace nudge::api {

namespace json = boost::json;

std::string error_body(const ApiError& error) {
    json::object inner;
    inner["code"] = error.code;
    inner["message"] = error.message;
    json::object outer;
    outer["error"] = std::move(inner);
    return json::serialize(outer);
}

namespace {

ApiError bad(std::string code, std::string message) {
    return ApiError{400, std::move(code), std::move(message)};
}

std::string_view view(const json::string& s) { return {s.data(), s.size()}; }

// A request's DOM up to this size is built on the stack (a single event is ~1 KiB of nodes).
constexpr std::size_t kArenaBytes = 4096;

// Where a value sits in the body ("events[3].rooms[1]"), for error messages. Spelled out only
// when a message needs it: a valid body builds no names.
struct Path {
    std::optional<std::size_t> event = std::nullopt;    // the index in "events", for a batch
    std::string_view field = {};                        // "" for the body itself
    std::optional<std::size_t> element = std::nullopt;  // the index in an array field

    [[nodiscard]] Path at(std::size_t i) const { return Path{event, field, i}; }
    [[nodiscard]] Path with(std::string_view name) const { return Path{event, name, std::nullopt}; }
    [[nodiscard]] std::string text() const {
        std::string out = event ? fmt::format("events[{}]", *event) : std::string();
        if (!field.empty()) {
            if (!out.empty()) out.push_back('.');
            out += field;
        }
        if (element) out += fmt::format("[{}]", *element);
        return out.empty() ? std::string("body") : out;
    }
};

Result<std::string, ApiError> name_field(const json::value& value, const Path& where,
                                         const PublishLimits& limits) {
    if (!value.is_string() || value.get_string().empty()) {
        return fail(bad("invalid_field", where.text() + ": must be a non-empty string"));
    }
    if (value.get_string().size() > limits.max_name_bytes) {
        return fail(bad("invalid_field",
                        fmt::format("{}: longer than {} bytes", where.text(), limits.max_name_bytes)));
    }
    return std::string(view(value.get_string()));
}

Result<std::vector<std::string>, ApiError> room_list(const json::value& value, const Path& where,
                                                     const PublishLimits& limits) {
    if (!value.is_array()) return fail(bad("invalid_field", where.text() + ": must be an array of strings"));
    const json::array& array = value.get_array();
    if (array.size() > limits.max_rooms) {
        return fail(bad("invalid_field", fmt::format("{}: more than {} rooms", where.text(), limits.max_rooms)));
    }
    std::vector<std::string> rooms;
    rooms.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
        auto room = name_field(array[i], where.at(i), limits);
        if (!room) return fail(std::move(room.error()));
        rooms.push_back(std::move(*room));
    }
    return rooms;
}

// JSON numbers a version may be: integers a JavaScript publisher can hold exactly (2^53 - 1).
constexpr std::uint64_t kMaxIntegerVersion = (std::uint64_t{1} << 53U) - 1;

Result<std::string, ApiError> version_field(const json::value& value, const Path& where) {
    if (value.is_string()) {
        if (auto version = parse_event_version(view(value.get_string()))) return std::move(version->text);
        return fail(bad("invalid_field",
                        where.text() + ": must be a Postgres LSN (\"0/16B3748\") or decimal digits "
                                "(at most 20, value below 2^64)"));
    }
    if (value.is_uint64() || (value.is_int64() && value.get_int64() >= 0)) {
        const std::uint64_t number =
            value.is_uint64() ? value.get_uint64() : static_cast<std::uint64_t>(value.get_int64());
        if (number <= kMaxIntegerVersion) return event_version_from_integer(number).text;
        return fail(bad("invalid_field",
                        where.text() + ": a number above 2^53 - 1; send larger versions as a string of digits"));
    }
    return fail(bad("invalid_field", where.text() + ": must be a non-negative integer or a string (a "
                                             "Postgres LSN such as \"0/16B3748\", or decimal digits)"));
}

Result<std::uint32_t, ApiError> spread_field(const json::value& value, const Path& where) {
    const bool in_range = (value.is_uint64() && value.get_uint64() <= hub::kMaxSpreadMs) ||
                          (value.is_int64() && value.get_int64() >= 0 &&
                           value.get_int64() <= std::int64_t{hub::kMaxSpreadMs});
    if (!in_range) {
        return fail(bad("invalid_field", fmt::format("{}: must be an integer number of milliseconds "
                                                     "from 0 to {}",
                                                     where.text(), hub::kMaxSpreadMs)));
    }
    return static_cast<std::uint32_t>(value.is_uint64() ? value.get_uint64()
                                                        : static_cast<std::uint64_t>(value.get_int64()));
}

// One event: the body itself, or events[index] of a batch.
Result<hub::Emit, ApiError> parse_one(const json::value& value, std::optional<std::size_t> index,
                                      const PublishLimits& limits) {
    const Path body{index, {}, std::nullopt};
    auto field = [&](std::string_view name) { return body.with(name); };
    if (!value.is_object()) return fail(bad("invalid_body", body.text() + ": must be a JSON object"));
    const json::object& object = value.get_object();
    for (const auto& entry : object) {
        const std::string_view key(entry.key().data(), entry.key().size());
        if (key != "room" && key != "rooms" && key != "event" && key != "data" && key != "except" &&
            key != "id" && key != "version" && key != "spread") {
            return fail(bad("unknown_field", fmt::format("{}: unknown field", field(key).text())));
        }
    }

    hub::Emit emit;
    const json::value* event = object.if_contains("event");
    if (event == nullptr) return fail(bad("missing_field", field("event").text() + ": required"));
    auto name = name_field(*event, field("event"), limits);
    if (!name) return fail(std::move(name.error()));
    if (sio::is_reserved_event(*name)) {
        return fail(bad("reserved_event",
                        fmt::format("{}: \"{}\" is reserved by Socket.IO", field("event").text(), *name)));
    }
    emit.event = std::move(*name);

    const json::value* room = object.if_contains("room");
    const json::value* rooms = object.if_contains("rooms");
    if (room != nullptr && rooms != nullptr) {
        return fail(bad("invalid_field", field("room").text() + ": give either room or rooms, not both"));
    }
    if (room != nullptr) {
        auto r = name_field(*room, field("room"), limits);
        if (!r) return fail(std::move(r.error()));
        emit.rooms.push_back(std::move(*r));
    } else if (rooms != nullptr) {
        auto list = room_list(*rooms, field("rooms"), limits);
        if (!list) return fail(std::move(list.error()));
        if (list->empty()) return fail(bad("invalid_field", field("rooms").text() + ": must not be empty"));
        emit.rooms = std::move(*list);
    } else {
        return fail(bad("missing_field", field("room").text() + ": required (room or rooms)"));
    }

    if (const json::value* except = object.if_contains("except")) {
        auto list = room_list(*except, field("except"), limits);
        if (!list) return fail(std::move(list.error()));
        emit.except = std::move(*list);
    }
    if (emit.rooms.size() + emit.except.size() > limits.max_rooms) {
        return fail(bad("invalid_field",
                        fmt::format("{}: more than {} rooms in rooms and except together",
                                    field("rooms").text(), limits.max_rooms)));
    }
    if (const json::value* data = object.if_contains("data")) {
        emit.data_json = json::serialize(*data);
    }
    if (const json::value* id = object.if_contains("id")) {
        // The idempotency key: a retry with the same id within the window is not delivered again.
        if (!id->is_string() || id->get_string().empty() ||
            id->get_string().size() > limits.max_name_bytes) {
            return fail(bad("invalid_field",
                            fmt::format("{}: must be a string of 1 to {} bytes", field("id").text(),
                                        limits.max_name_bytes)));
        }
        emit.id.assign(id->get_string().data(), id->get_string().size());
    }
    if (const json::value* version = object.if_contains("version")) {
        auto text = version_field(*version, field("version"));
        if (!text) return fail(std::move(text.error()));
        emit.version = std::move(*text);
    }
    if (const json::value* spread = object.if_contains("spread")) {
        auto ms = spread_field(*spread, field("spread"));
        if (!ms) return fail(std::move(ms.error()));
        emit.spread_ms = *ms;
    }
    return emit;
}

Result<std::vector<std::string>, ApiError> selector(const json::object& object,
                                                    const PublishLimits& limits) {
    const json::value* room = object.if_contains("room");
    const json::value* rooms = object.if_contains("rooms");
    if (room != nullptr && rooms != nullptr) {
        return fail(bad("invalid_field", "room: give either room or rooms, not both"));
    }
    if (room != nullptr) {
        auto r = name_field(*room, Path{.field = "room"}, limits);
        if (!r) return fail(std::move(r.error()));
        return std::vector<std::string>{std::move(*r)};
    }
    if (rooms == nullptr) return fail(bad("missing_field", "room: required (room or rooms)"));
    auto list = room_list(*rooms, Path{.field = "rooms"}, limits);
    if (!list) return fail(std::move(list.error()));
    if (list->empty()) return fail(bad("invalid_field", "rooms: must not be empty"));
    return list;
}

// The body as JSON; invalid_json says where the parser stopped as line and column (1-based,
// columns in bytes), so a hand-written curl body can be fixed without guessing.
// The DOM lives in `storage`: a publish request parses into a per-request arena (below) and
// frees it in one piece, instead of a malloc and a free per JSON node.
Result<json::value, ApiError> parse_json_body(std::string_view body, json::storage_ptr storage) {
    boost::system::error_code ec;
    json::parser parser;
    parser.reset(std::move(storage));  // the resulting value's storage (the parser's own stack is separate)
    const std::size_t at = std::min(parser.write(body.data(), body.size(), ec), body.size());
    if (!ec) return parser.release();
    const std::string_view before = body.substr(0, at);
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column = at - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
    return fail(bad("invalid_json", fmt::format("body: not valid JSON at line {}, column {} ({})",
                                                line, column, ec.message())));
}

}  // namespace

Result<hub::RoomOp, ApiError> parse_room_op(hub::RoomOpKind kind, std::string_view body,
                                            const PublishLimits& limits) {
    unsigned char arena[kArenaBytes];
    json::monotonic_resource resource(arena, sizeof arena);
    auto parsed = parse_json_body(body, &resource);
    if (!parsed) return fail(std::move(parsed.error()));
    json::value root = std::move(*parsed);
    if (!root.is_object()) return fail(bad("invalid_body", "body: must be a JSON object"));
    const json::object& object = root.get_object();
    // The list of rooms to join or leave is named after the operation, as in Socket.IO.
    const std::string_view list_field = kind == hub::RoomOpKind::kJoin    ? "join"
                                        : kind == hub::RoomOpKind::kLeave ? "leave"
                                                                          : "";
    for (const auto& entry : object) {
        const std::string_view key(entry.key().data(), entry.key().size());
        if (key != "room" && key != "rooms" && key != "except" &&
            (list_field.empty() || key != list_field)) {
            return fail(bad("unknown_field", fmt::format("{}: unknown field", key)));
        }
    }
    hub::RoomOp op;
    op.kind = kind;
    auto rooms = selector(object, limits);
    if (!rooms) return fail(std::move(rooms.error()));
    op.rooms = std::move(*rooms);
    if (const json::value* except = object.if_contains("except")) {
        auto list = room_list(*except, Path{.field = "except"}, limits);
        if (!list) return fail(std::move(list.error()));
        op.except = std::move(*list);
    }
    if (!list_field.empty()) {
        const std::string field(list_field);
        const json::value* targets = object.if_contains(list_field);
        if (targets == nullptr) return fail(bad("missing_field", field + ": required"));
        // A single room is accepted as a string too (socketsJoin("team_7")).
        if (targets->is_string()) {
            auto r = name_field(*targets, Path{.field = list_field}, limits);
            if (!r) return fail(std::move(r.error()));
            op.targets.push_back(std::move(*r));
        } else {
            auto list = room_list(*targets, Path{.field = list_field}, limits);
            if (!list) return fail(std::move(list.error()));
            if (list->empty()) return fail(bad("invalid_field", field + ": must not be empty"));
            op.targets = std::move(*list);
        }
    }
    if (op.rooms.size() + op.except.size() + op.targets.size() > limits.max_rooms) {
        return fail(bad("invalid_field", fmt::format("rooms: more than {} rooms in one request",
                                                     limits.max_rooms)));
    }
    return op;
}

Result<hub::EmitBatch, ApiError> parse_publish(std::string_view body, const PublishLimits& limits) {
    unsigned char arena[kArenaBytes];
    json::monotonic_resource resource(arena, sizeof arena);
    auto parsed = parse_json_body(body, &resource);
    if (!parsed) return fail(std::move(parsed.error()));
    json::value root = std::move(*parsed);
    if (!root.is_object()) return fail(bad("invalid_body", "body: must be a JSON object"));

    hub::EmitBatch batch;
    if (const json::value* events = root.get_object().if_contains("events")) {
        if (root.get_object().size() != 1) {
            return fail(bad("invalid_body", "body: a batch has only the field \"events\""));
        }
        if (!events->is_array() || events->get_array().empty()) {
            return fail(bad("invalid_field", "events: must be a non-empty array"));
        }
        const json::array& array = events->get_array();
        if (array.size() > limits.max_events) {
            return fail(bad("too_many_events",
                            fmt::format("events: more than {} in one batch", limits.max_events)));
        }
        batch.reserve(array.size());
        for (std::size_t i = 0; i < array.size(); ++i) {
            auto emit = parse_one(array[i], i, limits);
            if (!emit) return fail(std::move(emit.error()));
            batch.push_back(std::move(*emit));
        }
        return batch;
    }
    auto emit = parse_one(root, std::nullopt, limits);
    if (!emit) return fail(std::move(emit.error()));
    batch.push_back(std::move(*emit));
    return batch;
}

}  // namespace nudge::api
