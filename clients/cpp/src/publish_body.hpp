// The JSON bodies of POST /api/v1/emit, built from Events. Pure; thread-safe.
//
// One event:   {"rooms":["a"],"event":"e","data":…,"except":["b"],"id":"…","version":"0/1",
//              "spread":3000}  (data, except, id, version, spread when given)
// Several:     {"events":[ <one event>, … ]}
// Field checks (reserved names, empty rooms, lengths) are left to the hub, whose 400 names the
// field: the library cannot know the hub's configured limits, and one set of rules is enough.
// `version` and `spread` are the exception: their rules are fixed by the publish contract, not
// by the hub's settings, so event_fields_error() checks them before anything is sent.
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

// Why `event`'s version or spread would be refused by the hub, naming the field ("version must
// be …"), or empty when both are fine.
[[nodiscard]] std::string event_fields_error(const Event& event);

// POST /api/v1/rooms/<kind> bodies: {"rooms":[…],"except":[…],"<kind>":[…]}; `kind` is
// "join" or "leave" with `targets`, or "disconnect" (targets ignored).
[[nodiscard]] std::string room_op_body(std::string_view kind, const std::vector<std::string>& rooms,
                                       const std::vector<std::string>& except,
                                       const std::vector<std::string>& targets);

}  // namespace nudge::detail
