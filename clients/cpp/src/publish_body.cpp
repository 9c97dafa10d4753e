#include "publish_body.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>
#include <algorithm>
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

// The events are written straight into the body: building a json::object per event first
// copied every event's data and rooms once more (a sixth of nudge-cdc's CPU samples in its
// benchmark, see bench/cdc/RESULTS.md). The field order is the one documented in the header.
template <class Json>
void append_json(std::string& out, const Json& json) {
    json::serializer serializer;
    serializer.reset(json);
    char buffer[512];
    while (!serializer.done()) {
        const json::string_view part = serializer.read(buffer);
        out.append(part.data(), part.size());
    }
}

// Rooms, names, ids and versions are nearly always printable ASCII without a quote or a
// backslash, which JSON writes as they are: copied between quotes without a serializer (one
// per string cost more than the copy). Anything else goes through Boost.JSON.
void append_string(std::string& out, const std::string& text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    });
    if (plain) {
        out += '"';
        out += text;
        out += '"';
        return;
    }
    append_json(out, json::string_view(text.data(), text.size()));
}

void append_strings(std::string& out, const std::vector<std::string>& strings) {
    out += '[';
    for (std::size_t i = 0; i < strings.size(); ++i) {
        if (i > 0) out += ',';
        append_string(out, strings[i]);
    }
    out += ']';
}

void append_event(std::string& out, const Event& event, const std::string* generated_id) {
    out += R"({"rooms":)";
    append_strings(out, event.rooms);
    out += R"(,"event":)";
    append_string(out, event.name);
    if (event.data) {
        out += R"(,"data":)";
        append_json(out, &*event.data);
    }
    if (!event.except.empty()) {
        out += R"(,"except":)";
        append_strings(out, event.except);
    }
    const std::string* id = !event.id.empty() ? &event.id
                            : generated_id != nullptr && !generated_id->empty() ? generated_id
                                                                                 : nullptr;
    if (id != nullptr) {
        out += R"(,"id":)";
        append_string(out, *id);
    }
    if (!event.version.empty()) {
        out += R"(,"version":)";
        append_string(out, event.version);
    }
    if (event.spread_ms) {
        out += R"(,"spread":)";
        out += std::to_string(*event.spread_ms);
    }
    out += '}';
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
    std::string body;
    body.reserve(events.size() * 192);  // a typical event's size: fewer reallocations
    if (events.size() == 1) {
        append_event(body, events.front(), id(0));
        return body;
    }
    body += R"({"events":[)";
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i > 0) body += ',';
        append_event(body, events[i], id(i));
    }
    body += "]}";
    return body;
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
