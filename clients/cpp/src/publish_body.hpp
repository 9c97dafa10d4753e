// The JSON bodies of POST /api/v1/emit, built from Events. Pure; thread-safe.
//
// One event:   {"rooms":["a"],"event":"e","data":…,"except":["b"],"id":"…"}  (data, except, id
//              when given)
// Several:     {"events":[ <one event>, … ]}
// Field checks (reserved names, empty rooms, lengths) are left to the hub, whose 400 names the
// field: the library cannot know the hub's configured limits, and one set of rules is enough.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/emitter.hpp"

namespace nudge::detail {

// `events` must not be empty. `ids`, when given, has one id per event, used for an event whose
// own id is empty (an empty one there too: no id).
[[nodiscard]] std::string publish_body(std::span<const Event> events,
                                       std::span<const std::string> ids = {});

// POST /api/v1/rooms/<kind> bodies: {"rooms":[…],"except":[…],"<kind>":[…]}; `kind` is
// "join" or "leave" with `targets`, or "disconnect" (targets ignored).
[[nodiscard]] std::string room_op_body(std::string_view kind, const std::vector<std::string>& rooms,
                                       const std::vector<std::string>& except,
                                       const std::vector<std::string>& targets);

}  // namespace nudge::detail
