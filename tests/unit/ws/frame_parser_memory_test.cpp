// The FrameParser memory contract (frame_parser.hpp): an idle parser owns no heap memory,
// and complete frames in the caller's buffer are parsed without allocating. Checked by
// counting live heap bytes through a replaced global operator new/delete, which is why this
// file is a test binary of its own.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "client_frames.hpp"
#include "ws/frame_parser.hpp"

namespace {

std::atomic<std::size_t> g_live_bytes{0};
std::atomic<std::size_t> g_allocations{0};

void* allocate(std::size_t size) {
    void* block = std::malloc(size == 0 ? 1 : size);
    if (block != nullptr) {
        g_live_bytes += malloc_usable_size(block);
        ++g_allocations;
    }
    return block;
}

void release(void* block) noexcept {
    if (block == nullptr) return;
    g_live_bytes -= malloc_usable_size(block);
    std::free(block);
}

}  // namespace

void* operator new(std::size_t size) {
    if (void* block = allocate(size)) return block;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    if (void* block = allocate(size)) return block;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void operator delete(void* block) noexcept { release(block); }
void operator delete[](void* block) noexcept { release(block); }
void operator delete(void* block, std::size_t) noexcept { release(block); }
void operator delete[](void* block, std::size_t) noexcept { release(block); }
void operator delete(void* block, const std::nothrow_t&) noexcept { release(block); }
void operator delete[](void* block, const std::nothrow_t&) noexcept { release(block); }

namespace nudge::ws {
namespace {

using test::kFin;
using test::masked_frame;
using test::op;

constexpr std::size_t kMax = 1 << 20;

// Feeds `input` cut at `cuts`; after every feed() records whether the parser was idle and
// how many heap bytes it owned (live bytes minus the caller's own buffers).
struct Sample {
    bool idle;
    std::size_t owned;
};

std::vector<Sample> feed_and_measure(std::string_view input, const std::vector<std::size_t>& cuts,
                                     std::size_t stop_after = static_cast<std::size_t>(-1)) {
    std::vector<Sample> samples;
    samples.reserve(cuts.size() + 1);
    std::vector<std::vector<char>> chunks;
    std::size_t begin = 0;
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
        const std::size_t end = i < cuts.size() ? cuts[i] : input.size();
        chunks.emplace_back(input.begin() + static_cast<std::ptrdiff_t>(begin),
                            input.begin() + static_cast<std::ptrdiff_t>(end));
        begin = end;
    }
    FrameParser parser(kMax);
    std::size_t delivered = 0;
    const std::size_t baseline = g_live_bytes;
    for (auto& chunk : chunks) {
        auto result = parser.feed(chunk, [&](const Message&) { return ++delivered < stop_after; });
        EXPECT_TRUE(result.has_value());
        samples.push_back({parser.idle(), g_live_bytes - baseline});
    }
    return samples;
}

TEST(FrameParserMemory, CompleteFramesInOneBufferAllocateNothing) {
    const std::string input = masked_frame(kFin | op(Opcode::kText), std::string(5000, 'a')) +
                              masked_frame(op(Opcode::kBinary), std::string(3000, 'b')) +
                              masked_frame(kFin | op(Opcode::kPing), "p") +
                              masked_frame(kFin | op(Opcode::kContinuation), "c");
    std::vector<char> buffer(input.begin(), input.end());
    FrameParser parser(kMax);
    std::size_t delivered = 0;
    const std::size_t allocations = g_allocations;
    ASSERT_TRUE(parser.feed(buffer, [&](const Message&) {
        ++delivered;
        return true;
    }));
    EXPECT_EQ(g_allocations - allocations, 0u);
    EXPECT_EQ(delivered, 3u);
    EXPECT_TRUE(parser.idle());
}

TEST(FrameParserMemory, FrameSpanningFeedsIsReleasedWhenComplete) {
    const std::string input = masked_frame(kFin | op(Opcode::kBinary), std::string(10000, 'x'));
    const auto samples = feed_and_measure(input, {3, 5000, 9000});
    ASSERT_EQ(samples.size(), 4u);
    EXPECT_FALSE(samples[0].idle);
    EXPECT_EQ(samples[0].owned, 0u);  // only header bytes so far: kept inside the parser
    EXPECT_FALSE(samples[1].idle);
    EXPECT_GT(samples[1].owned, 0u);
    EXPECT_FALSE(samples[2].idle);
    EXPECT_TRUE(samples[3].idle);
    EXPECT_EQ(samples[3].owned, 0u);
}

TEST(FrameParserMemory, FragmentedMessageSpanningFeedsIsReleasedWhenComplete) {
    const std::string first = masked_frame(op(Opcode::kText), std::string(2000, 'a'));
    const std::string input =
        first + masked_frame(kFin | op(Opcode::kPing), "p") +
        masked_frame(kFin | op(Opcode::kContinuation), std::string(2000, 'b'));
    const auto samples = feed_and_measure(input, {first.size()});
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_FALSE(samples[0].idle);
    EXPECT_GT(samples[0].owned, 0u);
    EXPECT_TRUE(samples[1].idle);
    EXPECT_EQ(samples[1].owned, 0u);
}

TEST(FrameParserMemory, ControlFrameSpanningFeedsIsReleasedWhenDelivered) {
    // Header bytes stay inline; payload bytes of a split control frame go to a buffer made on
    // demand (an idle connection does not carry 125 bytes for this rare case) and freed on
    // delivery.
    const std::string input = masked_frame(kFin | op(Opcode::kPing), std::string(125, 'p'));
    const auto samples = feed_and_measure(input, {1, 10, 100});
    ASSERT_EQ(samples.size(), 4u);
    EXPECT_EQ(samples[0].owned, 0u);
    EXPECT_GT(samples[1].owned, 0u);
    EXPECT_LE(samples[1].owned, 160u);
    EXPECT_FALSE(samples[2].idle);
    EXPECT_TRUE(samples.back().idle);
    EXPECT_EQ(samples.back().owned, 0u);
}

TEST(FrameParserMemory, ErrorInASplitCloseFrameReleasesItsBuffer) {
    // A close frame whose code is invalid (1005 must never be sent), split across two feeds.
    const std::string input = masked_frame(kFin | op(Opcode::kClose), std::string("\x03\xed", 2) + "bye");
    std::vector<char> one(input.begin(), input.begin() + 8);
    std::vector<char> two(input.begin() + 8, input.end());
    FrameParser parser(kMax);
    auto ignore = [](const Message&) { return true; };
    const std::size_t baseline = g_live_bytes;
    ASSERT_TRUE(parser.feed(one, ignore));
    EXPECT_GT(g_live_bytes - baseline, 0u);
    auto result = parser.feed(two, ignore);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error(), Error::kBadClosePayload);
    EXPECT_EQ(g_live_bytes - baseline, 0u);
}

TEST(FrameParserMemory, ErrorReleasesTheMessageInProgress) {
    const std::string first = masked_frame(op(Opcode::kText), std::string(2000, 'a'));
    const std::string input = first + masked_frame(kFin | op(Opcode::kText), "oops");
    std::vector<char> one(first.begin(), first.end());
    std::vector<char> two(input.begin() + static_cast<std::ptrdiff_t>(first.size()), input.end());
    FrameParser parser(kMax);
    auto ignore = [](const Message&) { return true; };
    const std::size_t baseline = g_live_bytes;
    ASSERT_TRUE(parser.feed(one, ignore));
    EXPECT_GT(g_live_bytes - baseline, 0u);
    auto result = parser.feed(two, ignore);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error(), Error::kExpectedContinuation);
    EXPECT_EQ(g_live_bytes - baseline, 0u);
}

}  // namespace
}  // namespace nudge::ws
