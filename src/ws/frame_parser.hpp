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

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
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

    // Drops any message in progress and frees its memory: the parser is as new.
    void discard() noexcept;

    // Heap bytes the parser holds for a message or control frame still being received (what
    // a connection charges against the process-wide budget for partial messages).
    [[nodiscard]] std::size_t buffered_bytes() const noexcept;

    // Changes the message size limit between messages (e.g. larger once the client has
    // authenticated). A message already in progress keeps what it has been allowed.
    void set_max_message_size(std::size_t max_message_size) noexcept {
        max_message_size_ = std::max(max_message_size, message_size_);
    }

private:
    // Implementation-defined state; see frame_parser.cpp.
    struct Step {
        bool have_message;
        Message message;
        std::size_t consumed;
    };
    // Where the joined payload of the data message in progress lives.
    enum class Storage : std::uint8_t {
        kNone,    // no payload byte seen yet
        kBuffer,  // contiguous in the caller's buffer at joined_ (valid during one feed() only)
        kOwned,   // in partial_message_
    };
    // RFC 6455 §5.2: 2 bytes, up to 8 of extended length, 4 of masking key.
    static constexpr std::size_t kMaxFrameHeader = 14;
    static constexpr std::size_t kMaxControlPayload = 125;

    // Parses from the front of `data`: either consumes bytes without producing a message
    // (partial frame buffered, or a non-final fragment absorbed) or produces exactly one.
    [[nodiscard]] Result<Step, Error> step(std::span<char> data);
    [[nodiscard]] Result<Step, Error> start_frame(std::span<char> data);
    [[nodiscard]] Result<Step, Error> take_payload(std::span<char> data, std::size_t consumed);
    [[nodiscard]] Result<Step, Error> finish_frame(std::span<char> payload, bool in_buffer,
                                                   std::size_t consumed);
    struct Header {
        std::size_t size;          // 0: more bytes needed
        std::size_t payload_size;  // valid when size != 0
    };
    // Parses and checks the header at the front of `bytes`.
    [[nodiscard]] Result<Header, Error> parse_header(std::span<const char> bytes) const;
    // Moves a message joined inside the caller's buffer into partial_message_.
    void own_message();
    // Called by feed() after each on_message: frees the storage of a delivered message and,
    // when parsing stopped early, takes the message in progress out of the caller's buffer.
    void after_message(bool stopped);

    std::size_t max_message_size_;
    std::optional<Error> error_;  // sticky: once failed, every feed() fails the same way

    // The frame in progress.
    std::array<char, kMaxFrameHeader> header_{};  // header bytes split across feed() calls
    std::uint8_t header_size_ = 0;
    bool in_payload_ = false;  // header parsed, payload bytes outstanding
    bool frame_fin_ = false;
    Opcode frame_opcode_ = Opcode::kContinuation;
    std::array<unsigned char, 4> mask_{};
    std::size_t frame_size_ = 0;
    std::size_t frame_received_ = 0;                  // payload bytes seen (spanning feeds)
    // A control payload spanning feeds: rare, so allocated on demand and freed once delivered
    // (inline it would cost every idle connection 125 bytes).
    std::unique_ptr<std::array<char, kMaxControlPayload>> control_;

    // The data message in progress (text or binary, possibly fragmented).
    std::string partial_message_;  // joined payloads of a message spanning feed() calls
    char* joined_ = nullptr;
    std::size_t joined_size_ = 0;
    std::size_t message_size_ = 0;  // declared bytes so far, checked against the maximum
    Opcode message_opcode_ = Opcode::kContinuation;  // opcode of the message in progress
    Storage storage_ = Storage::kNone;
    bool in_message_ = false;
    bool release_after_delivery_ = false;  // the delivered message lives in partial_message_
};

template <class OnMessage>
Result<void, Error> FrameParser::feed(std::span<char> data, OnMessage&& on_message) {
    while (!data.empty()) {
        auto step_result = step(data);
        if (!step_result) return fail(step_result.error());
        data = data.subspan(step_result->consumed);
        if (step_result->have_message) {
            const bool go_on = on_message(step_result->message);
            after_message(!go_on);
            if (!go_on) return {};
        }
    }
    return {};
}

}  // namespace nudge::ws
