// WsConnection's write path over the scripted TestStream: the hub hands it Engine.IO packets
// and it frames each at write time, a header in front of the shared payload (issue 20). Every
// length encoding, one gathered write per batch, and writes that end anywhere — inside a
// header, inside a payload — resumed exactly there.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "harness.hpp"
#include "ws/frame_writer.hpp"

namespace nudge::net::test {
namespace {

using ws::test::kFin;
using ws::test::masked_frame;
using ws::test::op;

// The packet of event "e" whose data is a string making it exactly `size` bytes long.
std::string data_for(std::size_t size) {
    std::string data(size - 8, 'x');
    data.front() = data.back() = '"';
    return data;
}
std::string packet_of(std::size_t size) { return R"(42["e",)" + data_for(size) + "]"; }
std::string text_frame(std::string_view payload) { return ws::encode_frame(ws::Opcode::kText, payload); }

std::shared_ptr<hub::EmitBatch> batch_of(const std::vector<std::size_t>& sizes) {
    auto batch = std::make_shared<hub::EmitBatch>();
    for (const std::size_t size : sizes) {
        batch->push_back(hub::Emit{{"user_1"}, {}, "e", data_for(size), {}, 0, {}, {}, 0});
    }
    return batch;
}

struct Client {
    explicit Client(Harness& harness) : h(harness) {
        s = h.connect(&c);
        s->send(connect_frame());
        h.poll();
        start = s->written.size();
    }
    // What was written since the CONNECT answer.
    [[nodiscard]] std::string since_connect() const { return s->written.substr(start); }
    void publish(const std::vector<std::size_t>& sizes) const {
        ASSERT_TRUE(h.hub->deliver(batch_of(sizes)));
        h.poll();
    }

    Harness& h;
    TestConnection* c = nullptr;
    std::shared_ptr<StreamState> s;
    std::size_t start = 0;
};

// RFC 6455 §5.2: 7-bit length up to 125, 16-bit up to 65535, then 64-bit; servers never mask.
TEST(WsWrite, EachPacketIsFramedAtTheLengthBoundaries) {
    struct Case {
        std::size_t size;
        std::string header;
    };
    const std::vector<Case> cases = {
        {125, ws::test::bytes({0x81, 0x7D})},
        {126, ws::test::bytes({0x81, 0x7E, 0x00, 0x7E})},
        {65535, ws::test::bytes({0x81, 0x7E, 0xFF, 0xFF})},
        {65536, ws::test::bytes({0x81, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00})},
    };
    Harness h;
    Client client(h);
    for (const Case& c : cases) {
        SCOPED_TRACE(c.size);
        const std::size_t before = client.s->written.size();
        const std::size_t writes = client.s->writes;
        client.publish({c.size});
        EXPECT_EQ(client.s->writes, writes + 1);  // one write: [header][packet]
        EXPECT_EQ(client.s->written.substr(before), c.header + packet_of(c.size));
        EXPECT_EQ(client.c->queued_bytes(), 0U);
    }
}

// A batch to one client is one gathered write of up to 64 frames (128 buffers), in order.
TEST(WsWrite, ABatchIsOneGatheredWritePer64Frames) {
    Harness h;
    Client client(h);
    const std::vector<std::size_t> boundaries{125, 126, 65535, 65536};
    std::string expected;
    for (const std::size_t size : boundaries) expected += text_frame(packet_of(size));
    std::size_t writes = client.s->writes;
    client.publish(boundaries);
    EXPECT_EQ(client.s->writes, writes + 1);
    EXPECT_EQ(client.since_connect(), expected);

    const std::vector<std::size_t> many(100, 20);
    for (const std::size_t size : many) expected += text_frame(packet_of(size));
    writes = client.s->writes;
    client.publish(many);
    EXPECT_EQ(client.s->writes, writes + 2);  // 64, then 36
    EXPECT_EQ(client.since_connect(), expected);
    EXPECT_EQ(client.c->queued_bytes(), 0U);
}

// The kernel takes 14 bytes: a's frame (12) and 2 of b's 4-byte header. Then 4: the rest of
// the header and 2 bytes of the payload. b waits in the queue, charged in full, and resumes
// exactly where each write ended.
TEST(WsWrite, WritesEndingInsideAHeaderThenInsideAPayloadResumeThere) {
    Harness h;
    Client client(h);
    const std::string a = packet_of(10);
    const std::string b = packet_of(300);
    const std::string frame_b = text_frame(b);
    client.s->set_write_capacity(14);
    client.publish({10, 300});
    EXPECT_EQ(client.since_connect(), text_frame(a) + frame_b.substr(0, 2));
    EXPECT_EQ(client.c->queued_bytes(), b.size() + SendQueue::kEntryOverhead);
    client.s->set_write_capacity(4);
    client.h.poll();
    EXPECT_EQ(client.since_connect(), text_frame(a) + frame_b.substr(0, 6));
    EXPECT_EQ(client.c->queued_bytes(), b.size() + SendQueue::kEntryOverhead);
    client.s->set_write_capacity(std::numeric_limits<std::size_t>::max());
    client.h.poll();
    EXPECT_EQ(client.since_connect(), text_frame(a) + frame_b);
    EXPECT_EQ(client.c->queued_bytes(), 0U);
}

// Every write size from 1 byte up, with staged packets, queued packets and a pong (wire bytes
// the transport framed itself) in between: the bytes on the wire are the same frames.
TEST(WsWrite, AnyWriteSizeGivesTheSameFrames) {
    const std::vector<std::size_t> first{1 + 10, 125, 126, 300};
    const std::vector<std::size_t> second{127, 20};
    std::string expected;
    for (const std::size_t size : first) expected += text_frame(packet_of(size));
    expected += ws::encode_frame(ws::Opcode::kPong, "p");
    for (const std::size_t size : second) expected += text_frame(packet_of(size));
    for (std::size_t step = 1; step <= 13; ++step) {
        SCOPED_TRACE(step);
        Harness h;
        Client client(h);
        client.s->set_write_capacity(step);
        client.publish(first);  // staged, then the rest queued behind the first partial write
        client.s->send(masked_frame(kFin | op(ws::Opcode::kPing), "p"));
        h.poll();
        client.publish(second);
        for (int round = 0; round < 10000 && client.c->queued_bytes() > 0; ++round) {
            client.s->set_write_capacity(step);
            h.poll();
        }
        EXPECT_EQ(client.c->queued_bytes(), 0U);
        EXPECT_EQ(client.since_connect(), expected);
        std::string rest;
        const auto frames = server_frames(client.since_connect(), &rest);
        EXPECT_TRUE(rest.empty());
        ASSERT_EQ(frames.size(), first.size() + 1 + second.size());
        EXPECT_EQ(frames[0].payload, packet_of(first[0]));
        EXPECT_EQ(frames[first.size()].opcode, op(ws::Opcode::kPong));
    }
}

}  // namespace
}  // namespace nudge::net::test
