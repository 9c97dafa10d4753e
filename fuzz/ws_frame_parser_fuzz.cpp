// libFuzzer target for ws::FrameParser (after uWebSockets' fuzzing/: the codec is fuzzed
// directly, and every input is also fed in chunks).
//
// Input: byte 0 picks max_message_size, byte 1 picks how the stream is chunked, the rest is
// the client byte stream. The stream is parsed whole and in chunks whose sizes derive from
// the input; both must deliver the same messages and end with the same error or state.
// Every chunk lives in its own exactly-sized heap buffer, freed when feed() returns, so
// ASan catches a view or a read that outlives or overruns its buffer.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame_parser.hpp"
#include "ws/utf8.hpp"

namespace {

using nudge::ws::Error;
using nudge::ws::FrameParser;
using nudge::ws::Message;
using nudge::ws::Opcode;

struct Outcome {
    std::vector<std::pair<Opcode, std::string>> messages;
    std::optional<Error> error;
    bool idle = false;
    bool operator==(const Outcome&) const = default;
};

// Properties of every delivered message, whatever the input.
void check_message(const Message& message, std::size_t max_message_size) {
    const bool control = (static_cast<std::uint8_t>(message.opcode) & 0x8) != 0;
    if (message.opcode == Opcode::kContinuation) std::abort();
    if (message.payload.size() > max_message_size) std::abort();
    if (control && message.payload.size() > 125) std::abort();
    if (message.opcode == Opcode::kText && !nudge::ws::is_valid_utf8(message.payload)) {
        std::abort();
    }
    if (message.opcode == Opcode::kClose && message.payload.size() == 1) std::abort();
}

// Feeds `stream` in chunks of the given sizes (the last chunk takes the rest). Stops after
// a close frame, as a server does.
Outcome run(std::string_view stream, const std::vector<std::size_t>& sizes,
            std::size_t max_message_size) {
    FrameParser parser(max_message_size);
    Outcome outcome;
    bool stopped = false;
    std::size_t offset = 0;
    for (std::size_t i = 0; offset < stream.size() && !stopped && !outcome.error; ++i) {
        const std::size_t size =
            i < sizes.size() ? std::min(sizes[i], stream.size() - offset) : stream.size() - offset;
        auto chunk = std::make_unique<char[]>(size);
        std::copy_n(stream.data() + offset, size, chunk.get());
        offset += size;
        auto result = parser.feed(std::span<char>(chunk.get(), size), [&](const Message& message) {
            check_message(message, max_message_size);
            outcome.messages.emplace_back(message.opcode, std::string(message.payload));
            stopped = message.opcode == Opcode::kClose;
            return !stopped;
        });
        if (!result) outcome.error = result.error();
    }
    outcome.idle = !outcome.error && parser.idle();
    return outcome;
}

// Chunk sizes from a small PRNG seeded by the input, capped by a per-input limit so that
// both byte-sized and large chunks are explored.
std::vector<std::size_t> chunk_sizes(std::uint8_t selector, std::string_view stream) {
    constexpr std::array<std::size_t, 8> kLimits = {1, 2, 3, 7, 16, 64, 300, 4096};
    const std::size_t limit = kLimits[selector & 7];
    std::uint32_t state = 0x9E3779B9u ^ selector ^ static_cast<std::uint32_t>(stream.size());
    for (char c : stream.substr(0, 16)) state = state * 31 + static_cast<unsigned char>(c);
    std::vector<std::size_t> sizes;
    for (std::size_t total = 0; total < stream.size();) {
        state ^= state << 13;  // xorshift32
        state ^= state >> 17;
        state ^= state << 5;
        const std::size_t size = 1 + state % limit;
        sizes.push_back(size);
        total += size;
    }
    return sizes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    constexpr std::array<std::size_t, 8> kMaxSizes = {0, 1, 5, 125, 126, 1000, 65536, 1 << 20};
    const std::size_t max_message_size = kMaxSizes[data[0] & 7];
    const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

    const Outcome whole = run(stream, {}, max_message_size);
    if (run(stream, chunk_sizes(data[1], stream), max_message_size) != whole) std::abort();
    if (stream.size() <= 512) {
        const std::vector<std::size_t> bytes(stream.size(), 1);
        if (run(stream, bytes, max_message_size) != whole) std::abort();
    }
    return 0;
}
