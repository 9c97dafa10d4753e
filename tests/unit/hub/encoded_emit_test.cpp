#include "hub/encoded_emit.hpp"

#include <gtest/gtest.h>

#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "hub/hub.hpp"

namespace nudge::hub {
namespace {

// The Engine.IO packet text, exactly: no WebSocket framing (issue 20).
std::string payload(const Packet& packet) { return *packet; }

Emit emit_of(std::string data, std::string offset, std::string version, std::uint32_t spread) {
    Emit emit;
    emit.rooms = {"r"};
    emit.event = "balance_updated";
    emit.data_json = std::move(data);
    emit.offset = std::move(offset);
    emit.version = std::move(version);
    emit.spread_ms = spread;
    return emit;
}

TEST(EncodedEmit, EachFormAsTheContractSays) {
    const EncodedEmit e(emit_of(R"({"a":1})", "Ep:7", "0/16B3748", 0), 3000, 1765112345678);
    EXPECT_EQ(payload(e.packet(Variant::kPlain)), R"(42["balance_updated",{"a":1}])");
    EXPECT_EQ(payload(e.packet(Variant::kOffset)), R"(42["balance_updated",{"a":1},"Ep:7"])");
    EXPECT_EQ(payload(e.packet(Variant::kNudge)),
              R"(42["balance_updated",{"a":1},{"$nudge":{"v":"0/16B3748","s":3000,"t":1765112345678}},"Ep:7"])");
}

TEST(EncodedEmit, NoDataIsNullWhenSomethingFollows) {
    const EncodedEmit e(emit_of("", "Ep:1", "", 0), 250, 42);
    EXPECT_EQ(payload(e.packet(Variant::kPlain)), R"(42["balance_updated"])");
    EXPECT_EQ(payload(e.packet(Variant::kNudge)), R"(42["balance_updated",null,{"$nudge":{"s":250,"t":42}},"Ep:1"])");
    // Without offsets (--recovery off) a nudge session still gets the metadata.
    const EncodedEmit off(emit_of("", "", "42", 0), 0);
    EXPECT_EQ(payload(off.packet(Variant::kNudge)), R"(42["balance_updated",null,{"$nudge":{"v":"42"}}])");
    EXPECT_EQ(payload(off.packet(Variant::kOffset)), R"(42["balance_updated"])");
}

TEST(EncodedEmit, FormsThatWouldBeEqualShareOnePacket) {
    const EncodedEmit bare(emit_of("1", "Ep:2", "", 0), 0);
    EXPECT_EQ(bare.packet(Variant::kNudge).get(), bare.packet(Variant::kOffset).get());
    EXPECT_NE(bare.packet(Variant::kOffset).get(), bare.packet(Variant::kPlain).get());
    const EncodedEmit unnumbered(emit_of("1", "", "", 0), 0);
    EXPECT_EQ(unnumbered.packet(Variant::kOffset).get(), unnumbered.packet(Variant::kPlain).get());
    // Encoded once: the same packet every time.
    EXPECT_EQ(bare.packet(Variant::kPlain).get(), bare.packet(Variant::kPlain).get());
}

// Every shard of a fan-out may ask for a form at the same moment: one encodes it, all share it.
TEST(EncodedEmit, ThreadsAskingAtOnceShareOnePacket) {
    for (int round = 0; round < 50; ++round) {
        const EncodedEmit e(emit_of(R"({"a":1})", "Ep:7", "3", 0), 100, 7);
        constexpr int kThreads = 4;
        std::latch start(kThreads);
        std::vector<const std::string*> got(kThreads, nullptr);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                start.arrive_and_wait();
                got[static_cast<std::size_t>(t)] = e.packet(Variant::kNudge).get();
            });
        }
        for (auto& thread : threads) thread.join();
        for (const std::string* p : got) EXPECT_EQ(p, got[0]);
        ASSERT_NE(got[0], nullptr);
        EXPECT_EQ(*got[0], R"(42["balance_updated",{"a":1},{"$nudge":{"v":"3","s":100,"t":7}},"Ep:7"])");
    }
}

TEST(EncodedEmit, AWindowCarriesWhenTheHubTookTheEvent) {
    // Without a time, now: a client reached late counts its spread offset from then.
    const auto before = unix_now_ms();
    const EncodedEmit e(emit_of("", "Ep:1", "", 0), 250);
    const auto after = unix_now_ms();
    const std::string packet = *e.packet(Variant::kNudge);
    const auto at = packet.find(R"("t":)");
    ASSERT_NE(at, std::string::npos) << packet;
    const auto t = std::stoll(packet.substr(at + 4));
    EXPECT_GE(t, before);
    EXPECT_LE(t, after);
    // No window, no time: a version alone is not spread.
    EXPECT_EQ(EncodedEmit::metadata("9", 0, 5), R"({"$nudge":{"v":"9"}})");
}

TEST(EncodedEmit, HubEncodeIsTheOffsetForm) {
    const Emit emit = emit_of("2", "Ep:3", "9", 100);
    EXPECT_EQ(Hub::encode(emit), *EncodedEmit(emit, 0).packet(Variant::kOffset));
}

}  // namespace
}  // namespace nudge::hub
