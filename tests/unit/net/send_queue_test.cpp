#include "net/send_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace nudge::net {
namespace {

hub::Packet packet(std::string bytes) { return std::make_shared<const std::string>(std::move(bytes)); }

// The unfinished entries' bytes, the head from its offset (as a transport without framing).
std::string unwritten(const SendQueue& q) {
    std::string out;
    for (const auto& entry : q.unwritten()) out += *entry.bytes;
    return out.substr(std::min(out.size(), q.head_offset()));
}

// What a transport without framing does after writing `written` bytes of the entries.
void consume(SendQueue& q, std::size_t written) {
    std::size_t offset = q.head_offset() + written;
    std::size_t done = 0;
    for (const auto& entry : q.unwritten()) {
        if (offset < entry.bytes->size()) break;
        offset -= entry.bytes->size();
        ++done;
    }
    q.advance(done, offset);
}

TEST(SendQueue, CountsEachEntryPlusAFixedCost) {
    SendQueue q;
    q.push(packet("abc"));
    q.push(packet(""), SendQueue::Kind::kWire);
    EXPECT_EQ(q.bytes(), 3 + 2 * SendQueue::kEntryOverhead);
    EXPECT_EQ(q.entries(), 2U);
    ASSERT_EQ(q.unwritten().size(), 2U);
    EXPECT_EQ(q.unwritten()[0].kind, SendQueue::Kind::kPacket);
    EXPECT_EQ(q.unwritten()[1].kind, SendQueue::Kind::kWire);
}

TEST(SendQueue, SpliceAppendsTheOtherQueueInOrderAndEmptiesIt) {
    SendQueue ws;
    SendQueue polling;
    ws.push(packet("3probe"));
    polling.push(packet("a"));
    polling.push(packet("bc"));
    ws.splice(polling);
    EXPECT_TRUE(polling.empty());
    EXPECT_EQ(unwritten(ws), "3probeabc");
    EXPECT_EQ(ws.bytes(), 9 + 3 * SendQueue::kEntryOverhead);
    SendQueue empty;
    ws.splice(empty);
    EXPECT_EQ(ws.entries(), 3U);
}

// A partly written entry holds its whole buffer: it stays charged in full until finished.
TEST(SendQueue, PartialWritesKeepTheHeadOffset) {
    SendQueue q;
    q.push(packet("hello"));
    q.push(packet("world"));
    q.advance(0, 3);
    EXPECT_TRUE(q.head_started());
    EXPECT_EQ(q.head_offset(), 3U);
    EXPECT_EQ(unwritten(q), "loworld");
    EXPECT_EQ(q.bytes(), 10 + 2 * SendQueue::kEntryOverhead);
    q.advance(1, 2);
    EXPECT_TRUE(q.head_started());  // 2 bytes into "world"
    EXPECT_EQ(unwritten(q), "rld");
    EXPECT_EQ(q.bytes(), 5 + SendQueue::kEntryOverhead);
    q.advance(1, 0);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.bytes(), 0U);
}

TEST(SendQueue, DropUnstartedKeepsTheEntryInProgress) {
    SendQueue q;
    q.push(packet("first"));
    q.push(packet("second"));
    q.push(packet("third"));
    q.advance(0, 2);
    q.drop_unstarted();
    EXPECT_EQ(unwritten(q), "rst");  // the entry in progress completes, the rest is gone
    EXPECT_EQ(q.bytes(), 5 + SendQueue::kEntryOverhead);
    q.push(packet("close"), SendQueue::Kind::kWire);
    EXPECT_EQ(unwritten(q), "rstclose");

    SendQueue fresh;
    fresh.push(packet("a"));
    fresh.drop_unstarted();  // nothing started: nothing kept
    EXPECT_TRUE(fresh.empty());
}

// A client that is always a little behind: the queue's storage stays bounded by what is
// unwritten, not by everything ever queued (before, it compacted only when fully drained).
TEST(SendQueue, AlwaysBehindStaysBounded) {
    SendQueue q;
    constexpr int kRounds = 100000;
    for (int i = 0; i < kRounds; ++i) {
        q.push(packet("0123456789"));
        q.push(packet("0123456789"));
        consume(q, 19);  // one byte short every round: never drains
        // Written slots are either fewer than 32 or fewer than the unwritten ones (+ this round's 2).
        ASSERT_LE(q.storage(), std::max<std::size_t>(2 * q.entries(), q.entries() + 32) + 2);
    }
    // One byte per round is unwritten: 100,000 bytes in 10,000 entries (each charged in full,
    // the partly written head too), not 200,000 slots.
    EXPECT_EQ(q.entries(), static_cast<std::size_t>(kRounds / 10));
    EXPECT_EQ(q.bytes(), q.entries() * (10 + SendQueue::kEntryOverhead));
    EXPECT_LT(q.storage(), 25000U);
}

}  // namespace
}  // namespace nudge::net
