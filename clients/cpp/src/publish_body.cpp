#include "publish_body.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

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
    return object;
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
