// FrameParser: incremental RFC 6455 parser for client-to-server frames.
//
// Pure codec: bytes in, messages out; it never touches a socket, a timer or a logger, so it
// is unit-tested and fuzzed directly. Not thread-safe; one parser per connection.
//
// Memory contract (the hub's idle-memory budget depends on it): while idle() is true the
// parser owns no heap memory. Complete frames inside the caller's buffer are unmasked in
// place and handed out as views into that buffer; only a frame or a fragmented message that
// spans two feed() calls is copied into parser-owned storage, released again as soon as it
// completes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "ws/error.hpp"
#include "ws/opcode.hpp"

namespace nudge::ws {

// One complete data message (kText or kBinary, fragments already joined) or one control
// frame (kClose, kPing, kPong). `payload` is unmasked and only valid during the callback.
struct Message {
    Opcode opcode;
    std::string_view payload;
};

class FrameParser {
public:
    // Messages (after joining fragments) larger than max_message_size fail with
    // Error::kMessageTooBig.
    explicit FrameParser(std::size_t max_message_size);

    // Consumes `data` (modified in place: payloads are unmasked where they lie). Calls
    // `on_message(const Message&) -> bool` for each complete message, in order; returning
    // false stops parsing (e.g. after a close frame) and the rest of `data` is discarded.
    // Returns the first protocol violation; after an error the parser must not be fed again.
    //
    // Checks (server side, no extensions negotiated): every frame masked (§5.1), RSV bits
    // zero (§5.2), known opcodes, control frames FIN=1 and <=125 bytes (§5.5), continuation
    // only inside a fragmented message and no new data frame inside one (§5.4), the 64-bit
    // length's top bit clear, text messages valid UTF-8 (§8.1), close payloads empty or a
    // valid code plus UTF-8 reason (§5.5.1, §7.4).
    template <class OnMessage>
    [[nodiscard]] Result<void, Error> feed(std::span<char> data, OnMessage&& on_message);

    [[nodiscard]] bool idle() const noexcept;

private:
    // Implementation-defined state; see frame_parser.cpp.
    struct Step {
        bool have_message;
        Message message;
        std::size_t consumed;
    };
    // Parses from the front of `data`: either consumes bytes without producing a message
    // (partial frame buffered, or a non-final fragment absorbed) or produces exactly one.
    [[nodiscard]] Result<Step, Error> step(std::span<char> data);

    std::size_t max_message_size_;
    std::string partial_frame_;    // bytes of a frame split across feed() calls
    std::string partial_message_;  // joined payloads of a fragmented data message
    Opcode message_opcode_ = Opcode::kContinuation;  // opcode of the message in progress
    bool in_message_ = false;
};

template <class OnMessage>
Result<void, Error> FrameParser::feed(std::span<char> data, OnMessage&& on_message) {
    while (!data.empty()) {
        auto step_result = step(data);
        if (!step_result) return fail(step_result.error());
        data = data.subspan(step_result->consumed);
        if (step_result->have_message && !on_message(step_result->message)) return {};
    }
    return {};
}

}  // namespace nudge::ws
