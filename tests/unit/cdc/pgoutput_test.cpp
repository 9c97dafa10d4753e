#include "cdc/pgoutput.hpp"

#include <gtest/gtest.h>

#include "hex.hpp"
#include "pgoutput_golden.hpp"

namespace nudge::cdc {
namespace {

using test::from_hex;

template <class T>
T decode_as(std::string_view hex) {
    const auto bytes = from_hex(hex);
    auto decoded = decode_message(bytes);
    EXPECT_TRUE(decoded.has_value()) << hex;
    EXPECT_TRUE(std::holds_alternative<T>(*decoded)) << hex;
    return std::get<T>(*decoded);
}

TEST(PgOutput, BeginAndCommitCarryTheCommitLsn) {
    const auto begin = decode_as<Begin>(golden::kStream[0]);
    EXPECT_EQ(format_lsn(begin.final_lsn), "0/153C510");
    EXPECT_EQ(begin.xid, 727U);
    const auto commit = decode_as<Commit>(golden::kStream[4]);
    EXPECT_EQ(commit.commit_lsn, begin.final_lsn);
    EXPECT_EQ(format_lsn(commit.end_lsn), "0/153C540");
    EXPECT_EQ(commit.commit_time, begin.commit_time);
}

TEST(PgOutput, RelationNamesColumnsTypesAndIdentity) {
    const auto relation = decode_as<Relation>(golden::kStream[1]);
    EXPECT_EQ(relation.schema, "public");
    EXPECT_EQ(relation.name, "account");
    EXPECT_EQ(relation.replica_identity, 'f');
    ASSERT_EQ(relation.columns.size(), 5U);
    EXPECT_EQ(relation.columns[0], (Column{true, "id", 23, -1}));
    EXPECT_EQ(relation.columns[2], (Column{true, "balance", 1700, -1}));  // FULL: every column is key
    EXPECT_EQ(relation.columns[4].type_oid, 16U);
    const auto altered = decode_as<Relation>(golden::kStream[16]);
    ASSERT_EQ(altered.columns.size(), 6U);
    EXPECT_EQ(altered.columns[5].name, "extra");
}

TEST(PgOutput, InsertTupleHasTextAndNulls) {
    const auto first = decode_as<Insert>(golden::kStream[2]);
    EXPECT_EQ(first.relation, 16384U);
    ASSERT_EQ(first.new_tuple.size(), 5U);
    EXPECT_EQ(first.new_tuple[2].text, "10.50");
    EXPECT_EQ(first.new_tuple[3].text, "h\xc3\xa9llo");
    EXPECT_EQ(first.new_tuple[4].text, "t");
    const auto second = decode_as<Insert>(golden::kStream[3]);
    EXPECT_EQ(second.new_tuple[2].kind, Datum::Kind::kNull);
    EXPECT_EQ(second.new_tuple[3].kind, Datum::Kind::kNull);
}

TEST(PgOutput, UpdateWithFullIdentityHasOldAndNewRows) {
    const auto update = decode_as<Update>(golden::kStream[6]);
    EXPECT_EQ(update.old_kind, 'O');
    EXPECT_EQ(update.old_tuple[2].text, "10.50");
    EXPECT_EQ(update.new_tuple[2].text, "20");
    EXPECT_EQ(update.new_tuple[3], update.old_tuple[3]);
}

TEST(PgOutput, DeleteAndTruncate) {
    const auto del = decode_as<Delete>(golden::kStream[9]);
    EXPECT_EQ(del.old_kind, 'O');
    EXPECT_EQ(del.old_tuple[0].text, "2");
    const auto truncate = decode_as<Truncate>(golden::kStream[13]);
    EXPECT_EQ(truncate.relations, std::vector<std::uint32_t>{16384});
    EXPECT_EQ(truncate.options, 0);
}

// Split at every offset: every proper prefix of every captured message is an error value,
// never a crash or a message; a byte more is kTrailingBytes.
TEST(PgOutput, EveryPrefixIsAnErrorAndExtraBytesAreRejected) {
    std::vector<std::string_view> all(golden::kStream.begin(), golden::kStream.end());
    all.push_back(golden::kLastCommit);
    for (const auto hex : all) {
        const auto bytes = from_hex(hex);
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            auto decoded = decode_message(std::span(bytes).first(n));
            ASSERT_FALSE(decoded.has_value()) << hex << " cut at " << n;
        }
        auto longer = bytes;
        longer.push_back(0);
        auto decoded = decode_message(longer);
        ASSERT_FALSE(decoded.has_value()) << hex;
        EXPECT_EQ(decoded.error(), DecodeError::kTrailingBytes);
    }
}

TEST(PgOutput, MalformedInputIsNamed) {
    EXPECT_EQ(decode_message(from_hex("5a")).error(), DecodeError::kUnknownMessage);
    // A tuple column of kind 'x'.
    EXPECT_EQ(decode_message(from_hex("49000040004e000178")).error(), DecodeError::kBadTuple);
    // A negative column count.
    EXPECT_EQ(decode_message(from_hex("49000040004e8000")).error(), DecodeError::kBadTuple);
    // A column count far beyond the bytes that follow.
    EXPECT_EQ(decode_message(from_hex("49000040004e7fff6e")).error(), DecodeError::kTruncated);
    // An Update whose new-tuple marker is missing.
    EXPECT_EQ(decode_message(from_hex("5500004000580000")).error(), DecodeError::kBadUpdate);
    // A relation name without its NUL.
    EXPECT_EQ(decode_message(from_hex("520000400070")).error(), DecodeError::kBadString);
    // A value length past the end.
    EXPECT_EQ(decode_message(from_hex("49000040004e00017400000010")).error(), DecodeError::kTruncated);
}

TEST(PgOutput, EnvelopeXLogDataAndKeepalive) {
    auto bytes = from_hex("77" "000000000153c510" "000000000153d000" "0000000000000001");
    const auto begin = from_hex(golden::kStream[0]);
    bytes.insert(bytes.end(), begin.begin(), begin.end());
    auto decoded = decode_stream(bytes);
    ASSERT_TRUE(decoded.has_value());
    const auto& data = std::get<XLogData>(*decoded);
    EXPECT_EQ(format_lsn(data.start), "0/153C510");
    EXPECT_EQ(format_lsn(data.wal_end), "0/153D000");
    EXPECT_EQ(std::vector<std::uint8_t>(data.payload.begin(), data.payload.end()), begin);

    const auto keepalive_bytes = from_hex("6b" "000000010000002a" "0000000000000002" "01");
    auto keepalive = decode_stream(keepalive_bytes);
    ASSERT_TRUE(keepalive.has_value());
    EXPECT_EQ(std::get<Keepalive>(*keepalive).wal_end, (1ULL << 32U) + 42);
    EXPECT_TRUE(std::get<Keepalive>(*keepalive).reply_requested);
    for (std::size_t n = 0; n < keepalive_bytes.size(); ++n) {
        EXPECT_FALSE(decode_stream(std::span(keepalive_bytes).first(n)).has_value());
    }
    EXPECT_EQ(decode_stream(from_hex("64")).error(), DecodeError::kUnknownMessage);
}

TEST(PgOutput, StatusUpdateLayout) {
    const auto status = encode_status(0x0000000100000020ULL, 0x1122334455667788LL);
    ASSERT_EQ(status.size(), 34U);
    EXPECT_EQ(status[0], 'r');
    for (int field = 0; field < 3; ++field) {
        const auto at = 1 + field * 8;
        EXPECT_EQ(status[static_cast<std::size_t>(at + 3)], 0x01);
        EXPECT_EQ(status[static_cast<std::size_t>(at + 7)], 0x20);
    }
    EXPECT_EQ(status[25], 0x11);
    EXPECT_EQ(status[33], 0);
}

TEST(PgOutput, LsnText) {
    EXPECT_EQ(format_lsn(0), "0/0");
    EXPECT_EQ(format_lsn(0x16B374D848ULL), "16/B374D848");
    EXPECT_EQ(parse_lsn("16/B374D848"), 0x16B374D848ULL);
    EXPECT_EQ(parse_lsn("0/0"), 0ULL);
    EXPECT_FALSE(parse_lsn("16B374D848").has_value());
    EXPECT_FALSE(parse_lsn("/1").has_value());
    EXPECT_FALSE(parse_lsn("1/123456789").has_value());
    EXPECT_FALSE(parse_lsn("1/x").has_value());
}

}  // namespace
}  // namespace nudge::cdc
