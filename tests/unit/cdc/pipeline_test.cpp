#include "cdc/pipeline.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "hex.hpp"
#include "pgoutput_golden.hpp"

namespace nudge::cdc {
namespace {

using test::from_hex;

Rules rules_from(std::string_view text) {
    auto rules = parse_rules(text, "t.toml");
    EXPECT_TRUE(rules.has_value()) << rules.error();
    return *rules;
}

void feed_all(Pipeline& pipeline, std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
        const auto bytes = from_hex(golden::kStream[i]);
        ASSERT_TRUE(pipeline.feed(bytes).has_value()) << i;
    }
}

std::string describe(const OutEvent& event) {
    std::string rooms;
    for (const auto& room : event.rooms) rooms += room + ",";
    return event.id + " " + event.name + " " + rooms + " " + boost::json::serialize(event.data);
}

constexpr std::string_view kAccountRules = R"(
[[rule]]
table = "account"
on = ["insert"]
event = "opened"
rooms = ["user_{user_id}", "note_{note}"]
data = ["id", "balance", "flag"]

[[rule]]
table = "account"
on = ["update"]
changed = ["balance"]
event = "balance"
rooms = ["user_{user_id}"]
data = ["balance"]

[[rule]]
table = "account"
on = ["update"]
changed = ["note"]
event = "note"
rooms = ["user_{user_id}"]

[[rule]]
table = "account"
on = ["delete"]
where = { flag = false }
event = "closed"
rooms = ["user_{user_id}"]
data = ["id", "note"]

[[rule]]
table = "account"
on = ["truncate"]
event = "wiped"
rooms = ["admins"]

[[rule]]
table = "account"
on = ["insert"]
where = { extra = "new" }
event = "extra"
rooms = ["x_{extra}"]
data = ["extra"]
)";

TEST(Pipeline, CapturedStreamBecomesEventsWithIdsAndPositions) {
    Pipeline pipeline(rules_from(kAccountRules), "cdc:nudge:", 1000);
    feed_all(pipeline, 0, 4);  // Begin, Relation, 2 inserts
    EXPECT_TRUE(pipeline.in_transaction());
    ASSERT_EQ(pipeline.pending().size(), 2U);
    // note NULL: that room is skipped, the event still goes to the user's room.
    EXPECT_EQ(describe(pipeline.pending()[0]),
              R"(cdc:nudge:0/153C510:0 opened user_7,note_héllo, {"id":1,"balance":"10.50","flag":true,"lsn":"0/153C510"})");
    EXPECT_EQ(describe(pipeline.pending()[1]),
              R"(cdc:nudge:0/153C510:1 opened user_8, {"id":2,"balance":null,"flag":false,"lsn":"0/153C510"})");
    // The version is past the start of the commit record: a standby at exactly 0/153C510 has
    // not replayed the commit yet.
    EXPECT_EQ(pipeline.pending()[0].version, "0/153C511");
    EXPECT_EQ(pipeline.pending()[1].version, "0/153C511");
    // Published before the Commit arrived: nothing may be confirmed yet.
    EXPECT_FALSE(pipeline.published().has_value());
    feed_all(pipeline, 4, 5);
    EXPECT_FALSE(pipeline.in_transaction());
    EXPECT_EQ(pipeline.idle(0), 0x153C540U);  // the commit's end LSN, with nothing pending

    feed_all(pipeline, 5, 8);  // the balance update: "balance" yes, "note" unchanged: no
    ASSERT_EQ(pipeline.pending().size(), 1U);
    EXPECT_EQ(describe(pipeline.pending()[0]),
              R"(cdc:nudge:0/153C5B8:0 balance user_7, {"balance":"20","lsn":"0/153C5B8"})");
    EXPECT_EQ(pipeline.published(), 0x153C5E8U);

    feed_all(pipeline, 8, 15);  // delete (flag false: matches), truncate
    ASSERT_EQ(pipeline.pending().size(), 2U);
    EXPECT_EQ(describe(pipeline.pending()[0]),
              R"(cdc:nudge:0/153C630:0 closed user_8, {"id":2,"note":null,"lsn":"0/153C630"})");
    EXPECT_EQ(describe(pipeline.pending()[1]), R"(cdc:nudge:0/153D1F0:0 wiped admins, {"lsn":"0/153D1F0"})");
    EXPECT_EQ(pipeline.pending()[0].version, "0/153C631");
    EXPECT_EQ(pipeline.pending()[1].version, "0/153D1F1");
    EXPECT_EQ(pipeline.published(), 0x153D360U);

    // ALTER TABLE ... ADD COLUMN: the new Relation is followed, the new column is readable.
    feed_all(pipeline, 15, 18);
    ASSERT_EQ(pipeline.pending().size(), 2U);
    EXPECT_EQ(pipeline.pending()[0].name, "opened");
    EXPECT_EQ(describe(pipeline.pending()[1]),
              R"(cdc:nudge:0/153D7F8:1 extra x_new, {"extra":"new","lsn":"0/153D7F8"})");
    const auto commit = from_hex(golden::kLastCommit);
    ASSERT_TRUE(pipeline.feed(commit).has_value());
    EXPECT_EQ(pipeline.published(), 0x153D828U);
    EXPECT_EQ(pipeline.stats().transactions, 5U);
    EXPECT_EQ(pipeline.stats().relations, 3U);
}

TEST(Pipeline, ResetForgetsUnpublishedWorkAndIdsRepeat) {
    Pipeline pipeline(rules_from(kAccountRules), "p:", 1000);
    feed_all(pipeline, 0, 5);
    EXPECT_EQ(pipeline.published(), 0x153C540U);
    feed_all(pipeline, 5, 7);  // the update's Begin, Update: a reconnect before its Commit
    const std::string first_id = pipeline.pending().at(0).id;
    pipeline.reset();
    EXPECT_TRUE(pipeline.pending().empty());
    EXPECT_FALSE(pipeline.in_transaction());
    EXPECT_EQ(pipeline.confirmed(), 0x153C540U);
    feed_all(pipeline, 5, 7);  // Postgres resends it: the same id, so the hub drops a repeat
    EXPECT_EQ(pipeline.pending().at(0).id, first_id);
}

TEST(Pipeline, BatchIsBoundedAndTheKeepalivePositionWaitsForOpenWork) {
    Pipeline pipeline(rules_from(kAccountRules), "p:", 2);
    feed_all(pipeline, 0, 3);
    EXPECT_FALSE(pipeline.batch_full());
    feed_all(pipeline, 3, 4);
    EXPECT_TRUE(pipeline.batch_full());
    EXPECT_FALSE(pipeline.idle(0x2000000).has_value());  // pending and mid-transaction
    EXPECT_FALSE(pipeline.published().has_value());
    EXPECT_FALSE(pipeline.idle(0x2000000).has_value());  // still mid-transaction
    feed_all(pipeline, 4, 5);
    EXPECT_EQ(pipeline.idle(0x2000000), 0x2000000U);
    EXPECT_FALSE(pipeline.idle(0x1000000).has_value());  // never backwards
}

// One change can make more events than a batch holds (the insert after the ALTER matches two
// rules): pending() still never holds more than max_batch, the rest fill the next batches in
// order, and the position waits for them. Found by the cdc_pgoutput fuzzer.
TEST(Pipeline, AChangeThatMakesMoreEventsThanABatchHoldsFillsTheNextBatches) {
    Pipeline pipeline(rules_from(kAccountRules), "p:", 1);
    for (std::size_t i = 0; i < 15; ++i) {
        feed_all(pipeline, i, i + 1);
        while (!pipeline.pending().empty()) (void)pipeline.published();
    }
    (void)pipeline.published();
    EXPECT_EQ(pipeline.confirmed(), 0x153D360U);
    feed_all(pipeline, 15, 18);  // Begin, Relation, the insert: "opened" and "extra"
    ASSERT_EQ(pipeline.pending().size(), 1U);
    EXPECT_EQ(pipeline.pending()[0].name, "opened");
    EXPECT_FALSE(pipeline.published().has_value());
    ASSERT_EQ(pipeline.pending().size(), 1U);
    EXPECT_EQ(pipeline.pending()[0].name, "extra");
    EXPECT_EQ(pipeline.pending()[0].id, "p:0/153D7F8:1");
    EXPECT_FALSE(pipeline.published().has_value());  // its transaction has not committed
    EXPECT_TRUE(pipeline.pending().empty());
    const auto commit = from_hex(golden::kLastCommit);
    ASSERT_TRUE(pipeline.feed(commit).has_value());
    EXPECT_EQ(pipeline.published(), 0x153D828U);
}

// The same with the commit already read when the first batch is published: the position moves
// only with the last of the transaction's events.
TEST(Pipeline, ThePositionWaitsForEventsBeyondTheBatch) {
    Pipeline pipeline(rules_from(kAccountRules), "p:", 1);
    for (std::size_t i = 0; i < 15; ++i) {
        feed_all(pipeline, i, i + 1);
        while (!pipeline.pending().empty()) (void)pipeline.published();
    }
    feed_all(pipeline, 15, 18);
    const auto commit = from_hex(golden::kLastCommit);
    ASSERT_TRUE(pipeline.feed(commit).has_value());
    EXPECT_FALSE(pipeline.idle(0x2000000).has_value());  // events still to publish
    EXPECT_FALSE(pipeline.published().has_value());      // "extra" is next
    EXPECT_EQ(pipeline.pending().size(), 1U);
    EXPECT_EQ(pipeline.published(), 0x153D828U);
}

TEST(Pipeline, ChangeForAnUnknownRelationIsCountedNotGuessed) {
    Pipeline pipeline(rules_from(kAccountRules), "p:", 10);
    feed_all(pipeline, 0, 1);
    feed_all(pipeline, 2, 3);  // an Insert without its Relation
    EXPECT_TRUE(pipeline.pending().empty());
    EXPECT_EQ(pipeline.match_stats().unknown_relation, 1U);
    EXPECT_FALSE(pipeline.feed(from_hex("42")).has_value());
}

}  // namespace
}  // namespace nudge::cdc
