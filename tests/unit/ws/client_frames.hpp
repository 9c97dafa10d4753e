// Test helpers: build client-to-server frames (masked, §5.3) and run a FrameParser over an
// input cut into chunks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame_parser.hpp"

namespace nudge::ws::test {

inline constexpr std::uint8_t kFin = 0x80;
// The masking key of the RFC 6455 §5.7 examples.
inline constexpr std::array<std::uint8_t, 4> kRfcMask{0x37, 0xfa, 0x21, 0x3d};

inline std::uint8_t op(Opcode opcode) { return static_cast<std::uint8_t>(opcode); }

// A masked frame: `byte0` is FIN|RSV|opcode as sent; the length uses the minimal encoding.
inline std::string masked_frame(std::uint8_t byte0, std::string_view payload,
                                std::array<std::uint8_t, 4> mask = kRfcMask) {
    std::string frame(1, static_cast<char>(byte0));
    const std::uint64_t size = payload.size();
    if (size < 126) {
        frame.push_back(static_cast<char>(0x80 | size));
    } else if (size <= 0xFFFF) {
        frame.push_back(static_cast<char>(0x80 | 126));
        frame.push_back(static_cast<char>(size >> 8));
        frame.push_back(static_cast<char>(size & 0xFF));
    } else {
        frame.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            frame.push_back(static_cast<char>((size >> shift) & 0xFF));
        }
    }
    for (std::uint8_t byte : mask) frame.push_back(static_cast<char>(byte));
    for (std::size_t i = 0; i < payload.size(); ++i) {
        frame.push_back(static_cast<char>(payload[i] ^ static_cast<char>(mask[i % 4])));
    }
    return frame;
}

// Turns a server frame (unmasked, as frame_writer makes it) into the client frame a peer
// would send with the same content.
inline std::string mask_server_frame(std::string_view frame,
                                     std::array<std::uint8_t, 4> mask = kRfcMask) {
    const auto length7 = static_cast<std::uint8_t>(frame[1]) & 0x7F;
    const std::size_t header = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0);
    std::string out(frame.substr(0, header));
    out[1] = static_cast<char>(out[1] | static_cast<char>(0x80));
    for (std::uint8_t byte : mask) out.push_back(static_cast<char>(byte));
    for (std::size_t i = header; i < frame.size(); ++i) {
        out.push_back(static_cast<char>(frame[i] ^ static_cast<char>(mask[(i - header) % 4])));
    }
    return out;
}

inline std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int value : values) out.push_back(static_cast<char>(value));
    return out;
}

struct Record {
    Opcode opcode;
    std::string payload;
    bool operator==(const Record&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Record& record) {
    return os << "{opcode " << static_cast<int>(record.opcode) << ", " << record.payload.size()
              << " bytes}";
}

struct Outcome {
    std::vector<Record> messages;
    std::optional<Error> error;
    bool idle = false;
    bool operator==(const Outcome&) const = default;
};

// Feeds `input` cut at `cuts` (ascending offsets), each chunk from its own heap buffer that
// is freed as soon as feed() returns, so a view kept past its feed() call trips ASan. The
// callback stops parsing after `stop_after` messages (and the run ends there).
inline Outcome run(std::string_view input, const std::vector<std::size_t>& cuts,
                   std::size_t max_message_size,
                   std::size_t stop_after = static_cast<std::size_t>(-1)) {
    FrameParser parser(max_message_size);
    Outcome outcome;
    std::size_t begin = 0;
    bool stopped = false;
    for (std::size_t i = 0; i <= cuts.size() && !stopped && !outcome.error; ++i) {
        const std::size_t end = i < cuts.size() ? cuts[i] : input.size();
        std::vector<char> chunk(input.begin() + static_cast<std::ptrdiff_t>(begin),
                                input.begin() + static_cast<std::ptrdiff_t>(end));
        begin = end;
        auto result = parser.feed(chunk, [&](const Message& message) {
            outcome.messages.push_back({message.opcode, std::string(message.payload)});
            stopped = outcome.messages.size() >= stop_after;
            return !stopped;
        });
        if (!result) outcome.error = result.error();
    }
    // After an error the parser is dead and idle() says nothing useful.
    outcome.idle = !outcome.error && parser.idle();
    return outcome;
}

}  // namespace nudge::ws::test
