// msgpack → JSON text, as JSON.stringify would write the arguments socket.io-msgpack-parser
// encoded (strings checked as UTF-8, timestamps as Date.prototype.toJSON, depth and size
// bounded by EmitterLimits). Internal to src/broker; pure.
#pragma once

#include <cstddef>
#include <string>

#include "broker/msgpack_reader.hpp"

namespace nudge::broker::msgpack_detail {

// Converts the next msgpack value of `in` into JSON text appended to `out`.
[[nodiscard]] Decoded<void> append_json_value(Reader& in, const EmitterLimits& limits, std::string& out);

}  // namespace nudge::broker::msgpack_detail
