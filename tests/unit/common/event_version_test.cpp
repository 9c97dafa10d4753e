#include "common/event_version.hpp"

#include <gtest/gtest.h>

namespace nudge {
namespace {

TEST(EventVersion, LsnIsCanonicalUpperCaseWithoutLeadingZeros) {
    const auto v = parse_event_version("0000000A/016b3748");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->text, "A/16B3748");
    EXPECT_EQ(v->value, (std::uint64_t{10} << 32U) + 0x16B3748U);
    EXPECT_EQ(parse_event_version("0/0")->text, "0/0");
    EXPECT_EQ(parse_event_version("FFFFFFFF/FFFFFFFF")->value, UINT64_MAX);
}

TEST(EventVersion, DecimalIsCanonicalWithoutLeadingZeros) {
    EXPECT_EQ(parse_event_version("000123")->text, "123");
    EXPECT_EQ(parse_event_version("000123")->value, 123U);
    EXPECT_EQ(parse_event_version("0")->text, "0");
    EXPECT_EQ(parse_event_version("18446744073709551615")->value, UINT64_MAX);
    EXPECT_EQ(event_version_from_integer(42).text, "42");
}

TEST(EventVersion, BothFormsCompareAsOneNumber) {
    // 1/0 is 2^32: above every decimal below it.
    EXPECT_LT(parse_event_version("4294967295")->value, parse_event_version("1/0")->value);
    EXPECT_EQ(parse_event_version("4294967296")->value, parse_event_version("1/0")->value);
}

TEST(EventVersion, RefusesAnythingElse) {
    for (const char* bad : {"", "/", "0/", "/0", "0/1/2", "x/1", "0/16G3748", "123456789/0",
                            "0/123456789", "-1", "1.5", " 1", "1 ", "18446744073709551616",
                            "100000000000000000000", "0x10", "1e3"}) {
        EXPECT_FALSE(parse_event_version(bad)) << bad;
    }
}

}  // namespace
}  // namespace nudge
