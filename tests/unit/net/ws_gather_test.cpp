// WsGather on its own: the buffers of one gathered write (a header kept here and the shared
// packet, or wire bytes alone) and where a write of any length ended.
#include "net/ws_gather.hpp"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "ws/frame_writer.hpp"

namespace nudge::net {
namespace {

std::string joined(const WsGather& gather) {
    std::string out;
    for (const auto& b : gather.buffers()) out.append(static_cast<const char*>(b.data()), b.size());
    return out;
}

TEST(WsGather, APacketIsItsHeaderThenTheSharedPayloadUncopied) {
    for (const std::size_t size : {std::size_t{1}, std::size_t{125}, std::size_t{126},
                                   std::size_t{65535}, std::size_t{65536}}) {
        SCOPED_TRACE(size);
        const std::string packet(size, 'p');
        WsGather gather;
        ASSERT_TRUE(gather.add(packet, true));
        ASSERT_EQ(gather.buffers().size(), 2U);
        EXPECT_EQ(gather.buffers()[0].size(), ws::header_size(size));
        EXPECT_EQ(gather.buffers()[1].data(), packet.data());  // the shared bytes themselves
        EXPECT_EQ(joined(gather), ws::encode_frame(ws::Opcode::kText, packet));
    }
}

TEST(WsGather, WireBytesGoAsTheyAre) {
    const std::string pong = ws::encode_frame(ws::Opcode::kPong, "p");
    WsGather gather;
    ASSERT_TRUE(gather.add(pong, false));
    ASSERT_EQ(gather.buffers().size(), 1U);
    EXPECT_EQ(gather.buffers()[0].data(), pong.data());
    EXPECT_EQ(gather.buffers()[0].size(), pong.size());
}

// A frame started by an earlier write resumes where it ended: inside its header or its payload.
TEST(WsGather, ASkipResumesInsideTheHeaderOrThePayload) {
    const std::string packet(300, 'q');  // a 4-byte header
    const std::string frame = ws::encode_frame(ws::Opcode::kText, packet);
    for (std::size_t skip = 0; skip < frame.size(); ++skip) {
        WsGather gather;
        ASSERT_TRUE(gather.add(packet, true, skip));
        EXPECT_EQ(joined(gather), frame.substr(skip)) << skip;
        EXPECT_EQ(gather.buffers().size(), skip < 4 ? 2U : 1U) << skip;
    }
}

TEST(WsGather, ProgressCountsWholeEntriesAndTheOffsetIntoTheNext) {
    const std::string a(10, 'a');   // frame: 12 bytes
    const std::string b(300, 'b');  // frame: 304 bytes
    const std::string c = ws::encode_frame(ws::Opcode::kPong, "c");  // 3 wire bytes
    WsGather gather;
    gather.add(a, true, 5);  // 7 bytes left
    gather.add(b, true);
    gather.add(c, false);
    const auto at = [&](std::size_t written) {
        const auto p = gather.progress(written);
        return std::vector<std::size_t>{p.done, p.offset};
    };
    EXPECT_EQ(at(0), (std::vector<std::size_t>{0, 5}));
    EXPECT_EQ(at(6), (std::vector<std::size_t>{0, 11}));
    EXPECT_EQ(at(7), (std::vector<std::size_t>{1, 0}));
    EXPECT_EQ(at(9), (std::vector<std::size_t>{1, 2}));    // inside b's header
    EXPECT_EQ(at(12), (std::vector<std::size_t>{1, 5}));   // inside b's payload
    EXPECT_EQ(at(311), (std::vector<std::size_t>{2, 0}));
    EXPECT_EQ(at(313), (std::vector<std::size_t>{2, 2}));
    EXPECT_EQ(at(314), (std::vector<std::size_t>{3, 0}));
}

TEST(WsGather, TakesAtMostKMaxEntriesInKMaxBuffers) {
    const std::string packet = R"(42["e",1])";
    WsGather gather;
    for (std::size_t i = 0; i < WsGather::kMaxEntries; ++i) ASSERT_TRUE(gather.add(packet, true));
    EXPECT_TRUE(gather.full());
    EXPECT_FALSE(gather.add(packet, true));
    EXPECT_EQ(gather.buffers().size(), WsGather::kMaxBuffers);
    gather.clear();
    EXPECT_TRUE(gather.buffers().empty());
    EXPECT_TRUE(gather.add(packet, true));
}

std::string joined(std::span<const boost::asio::const_buffer> buffers) {
    std::string out;
    for (const auto& b : buffers) out.append(static_cast<const char*>(b.data()), b.size());
    return out;
}

// A small gather is written as one flat buffer (send(), not sendmsg()): the same bytes, and a
// write ending anywhere in it is read back by progress() as before.
TEST(WsGather, ASmallGatherIsWrittenAsOneFlatBuffer) {
    const std::string a(10, 'a');
    const std::string b = ws::encode_frame(ws::Opcode::kPong, "b");
    WsGather gather;
    gather.add(a, true, 3);
    gather.add(b, false);
    gather.add(a, true);
    const std::string expected = joined(gather);
    const auto flat = gather.for_write();
    ASSERT_EQ(flat.size(), 1U);
    EXPECT_EQ(joined(flat), expected);
    EXPECT_EQ(gather.progress(9).done, 1U);
    EXPECT_EQ(gather.progress(expected.size()).done, 3U);
}

TEST(WsGather, ALargeGatherKeepsItsBuffersUncopied) {
    const std::string big(WsGather::kFlatBytes, 'x');
    WsGather gather;
    gather.add(big, true);
    const auto buffers = gather.for_write();
    ASSERT_EQ(buffers.size(), 2U);
    EXPECT_EQ(buffers[1].data(), big.data());
    // At the limit exactly, still flat; one byte more, not.
    WsGather edge;
    const std::string fits(WsGather::kFlatBytes - ws::header_size(WsGather::kFlatBytes - 4), 'y');
    edge.add(fits, true);
    EXPECT_EQ(edge.for_write().size(), 1U);
    edge.clear();
    edge.add(fits + "z", true);
    EXPECT_EQ(edge.for_write().size(), 2U);
}

TEST(WsGather, ALoneBufferIsNotCopied) {
    const std::string pong = ws::encode_frame(ws::Opcode::kPong, "p");
    WsGather gather;
    gather.add(pong, false);
    const auto buffers = gather.for_write();
    ASSERT_EQ(buffers.size(), 1U);
    EXPECT_EQ(buffers[0].data(), pong.data());
}

}  // namespace
}  // namespace nudge::net
