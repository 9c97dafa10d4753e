#include "common/authority.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace nudge {
namespace {

TEST(ParseDecimal, TakesOnlyAWholeNumberOfItsType) {
    EXPECT_EQ(parse_decimal<std::uint64_t>("18446744073709551615"), UINT64_MAX);
    EXPECT_EQ(parse_decimal<int>("-3"), -3);
    EXPECT_EQ(parse_decimal<unsigned>("0"), 0U);
    for (const char* bad : {"", " 1", "1 ", "1x", "+1", "0x10", "18446744073709551616"}) {
        EXPECT_FALSE(parse_decimal<std::uint64_t>(bad).has_value()) << bad;
    }
    EXPECT_FALSE(parse_decimal<unsigned>("-1").has_value());
}

TEST(SplitAuthority, HostsPortsAndBracketedIpv6) {
    auto plain = split_authority("redis.internal");
    ASSERT_TRUE(plain) << plain.error();
    EXPECT_EQ(plain->host, "redis.internal");
    EXPECT_FALSE(plain->port.has_value());

    auto with_port = split_authority("10.0.0.5:6380");
    ASSERT_TRUE(with_port) << with_port.error();
    EXPECT_EQ(with_port->host, "10.0.0.5");
    EXPECT_EQ(with_port->port, 6380);

    auto v6 = split_authority("[::1]:65535");
    ASSERT_TRUE(v6) << v6.error();
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 65535);
    EXPECT_FALSE(split_authority("[fe80::1]")->port.has_value());
}

TEST(SplitAuthority, RefusesWhatIsNotAHostAndPort) {
    struct Bad {
        const char* authority;
        const char* says;
    };
    for (const Bad bad : {Bad{"", "no host"}, Bad{":80", "no host"}, Bad{"[]:80", "no host"},
                          Bad{"h:", "bad port"}, Bad{"h:0", "bad port"}, Bad{"h:65536", "bad port"},
                          Bad{"h:-1", "bad port"}, Bad{"h:8x", "bad port"}, Bad{"[::1", "unclosed ["},
                          Bad{"[::1]x", "bad host"}, Bad{"::1:80", "[brackets]"}}) {
        const auto result = split_authority(bad.authority);
        ASSERT_FALSE(result) << bad.authority;
        EXPECT_NE(result.error().find(bad.says), std::string::npos) << bad.authority << ": " << result.error();
    }
}

}  // namespace
}  // namespace nudge
