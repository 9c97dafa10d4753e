#include "publish_body.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <limits>

namespace nudge::detail {

namespace {

namespace json = boost::json;

json::array string_array(const std::vector<std::string>& strings) {
    json::array array;
    array.reserve(strings.size());
    for (const std::string& s : strings) array.emplace_back(s);
    return array;
}

json::object event_object(const Event& event, const std::string* generated_id) {
    json::object object;
    object["rooms"] = string_array(event.rooms);
    object["event"] = event.name;
    if (event.data) object["data"] = *event.data;
    if (!event.except.empty()) object["except"] = string_array(event.except);
    if (!event.id.empty()) {
        object["id"] = event.id;
    } else if (generated_id != nullptr && !generated_id->empty()) {
        object["id"] = *generated_id;
    }
    if (!event.version.empty()) object["version"] = event.version;
    if (event.spread_ms) object["spread"] = *event.spread_ms;
    return object;
}

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// 1 to 8 hex digits: one half of a Postgres LSN.
bool lsn_part(std::string_view part) {
    if (part.empty() || part.size() > 8) return false;
    for (const char c : part) {
        if (!is_hex(c)) return false;
    }
    return true;
}

// 1 to 20 decimal digits whose value fits 64 bits.
bool decimal_u64(std::string_view text) {
    if (text.empty() || text.size() > 20) return false;
    std::uint64_t value = 0;
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (kMax - digit) / 10) return false;
        value = value * 10 + digit;
    }
    return true;
}

bool valid_version(std::string_view version) {
    const auto slash = version.find('/');
    if (slash == std::string_view::npos) return decimal_u64(version);
    return lsn_part(version.substr(0, slash)) && lsn_part(version.substr(slash + 1));
}

}  // namespace

std::string publish_body(std::span<const Event> events, std::span<const std::string> ids) {
    const auto id = [&](std::size_t i) { return i < ids.size() ? &ids[i] : nullptr; };
    if (events.size() == 1) return json::serialize(event_object(events.front(), id(0)));
    json::array array;
    array.reserve(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) array.emplace_back(event_object(events[i], id(i)));
    json::object body;
    body["events"] = std::move(array);
    return json::serialize(body);
}

std::string event_fields_error(const Event& event) {
    if (!event.version.empty() && !valid_version(event.version)) {
        return "version must be a Postgres LSN like \"0/16B3748\" or decimal digits up to "
               "2^64 - 1, got \"" + event.version + "\"";
    }
    if (event.spread_ms && *event.spread_ms > kMaxSpreadMs) {
        return "spread must be from 0 to " + std::to_string(kMaxSpreadMs) + " ms, got " +
               std::to_string(*event.spread_ms);
    }
    return {};
}

std::string room_op_body(std::string_view kind, const std::vector<std::string>& rooms,
                         const std::vector<std::string>& except,
                         const std::vector<std::string>& targets) {
    json::object body;
    body["rooms"] = string_array(rooms);
    if (!except.empty()) body["except"] = string_array(except);
    if (kind != "disconnect") body[kind] = string_array(targets);
    return json::serialize(body);
}

}  // namespace nudge::detail
