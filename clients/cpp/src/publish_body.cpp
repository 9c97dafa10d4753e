#include "publish_body.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>

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

void append_string(std::string& out, const std::string& text) {
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
    out += '}';
}

}  // namespace

std::string publish_body(std::span<const Event> events, std::span<const std::string> ids) {
    const auto id = [&](std::size_t i) { return i < ids.size() ? &ids[i] : nullptr; };
    std::string body;
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
