#include "net/send_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>

namespace nudge::net {
namespace {

hub::Frame frame(std::string bytes) { return std::make_shared<const std::string>(std::move(bytes)); }

std::string unwritten(const SendQueue& q) {
    std::array<boost::asio::const_buffer, 256> buffers;
    std::string out;
    const std::size_t n = q.gather(buffers);
    for (std::size_t i = 0; i < n; ++i) {
        out.append(static_cast<const char*>(buffers[i].data()), buffers[i].size());
    }
    return out;
}

TEST(SendQueue, CountsPayloadPlusAFixedCostPerEntry) {
    SendQueue q;
    q.push(frame("abc"));
    q.push(frame(""));
    EXPECT_EQ(q.bytes(), 3 + 2 * SendQueue::kEntryOverhead);
    EXPECT_EQ(q.entries(), 2U);
}

TEST(SendQueue, SpliceAppendsTheOtherQueueInOrderAndEmptiesIt) {
    SendQueue ws;
    SendQueue polling;
    ws.push(frame("3probe"));
    polling.push(frame("a"));
    polling.push(frame("bc"));
    ws.splice(polling);
    EXPECT_TRUE(polling.empty());
    EXPECT_EQ(unwritten(ws), "3probeabc");
    EXPECT_EQ(ws.bytes(), 9 + 3 * SendQueue::kEntryOverhead);
    SendQueue empty;
    ws.splice(empty);
    EXPECT_EQ(ws.entries(), 3U);
}

TEST(SendQueue, PartialWritesKeepTheHeadOffset) {
    SendQueue q;
    q.push(frame("hello"));
    q.push(frame("world"));
    q.consume(3);
    EXPECT_TRUE(q.head_started());
    EXPECT_EQ(unwritten(q), "loworld");
    EXPECT_EQ(q.bytes(), 7 + 2 * SendQueue::kEntryOverhead);
    q.consume(4);
    EXPECT_TRUE(q.head_started());  // 2 bytes into "world"
    EXPECT_EQ(unwritten(q), "rld");
    q.consume(3);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.bytes(), 0U);
}

TEST(SendQueue, DropUnstartedKeepsTheFrameInProgress) {
    SendQueue q;
    q.push(frame("first"));
    q.push(frame("second"));
    q.push(frame("third"));
    q.consume(2);
    q.drop_unstarted();
    EXPECT_EQ(unwritten(q), "rst");  // the frame in progress completes, the rest is gone
    EXPECT_EQ(q.bytes(), 3 + SendQueue::kEntryOverhead);
    q.push(frame("close"));
    EXPECT_EQ(unwritten(q), "rstclose");

    SendQueue fresh;
    fresh.push(frame("a"));
    fresh.drop_unstarted();  // nothing started: nothing kept
    EXPECT_TRUE(fresh.empty());
}

// A client that is always a little behind: the queue's storage stays bounded by what is
// unwritten, not by everything ever queued (before, it compacted only when fully drained).
TEST(SendQueue, AlwaysBehindStaysBounded) {
    SendQueue q;
    constexpr int kRounds = 100000;
    for (int i = 0; i < kRounds; ++i) {
        q.push(frame("0123456789"));
        q.push(frame("0123456789"));
        q.consume(19);  // one byte short every round: never drains
        // Written slots are either fewer than 32 or fewer than the unwritten ones (+ this round's 2).
        ASSERT_LE(q.storage(), std::max<std::size_t>(2 * q.entries(), q.entries() + 32) + 2);
    }
    // One byte per round is unwritten: 100,000 bytes in ~10,000 entries, not 200,000 slots.
    EXPECT_EQ(q.bytes(), kRounds + q.entries() * SendQueue::kEntryOverhead);
    EXPECT_LT(q.storage(), 25000U);
}

}  // namespace
}  // namespace nudge::net
