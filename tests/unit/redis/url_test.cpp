#include "redis/url.hpp"

#include <gtest/gtest.h>

namespace nudge::redis {
namespace {

TEST(RedisUrl, HostAloneGetsTheDefaults) {
    auto e = parse_url("redis://localhost");
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->host, "localhost");
    EXPECT_EQ(e->port, 6379);
    EXPECT_EQ(e->db, 0);
    EXPECT_EQ(e->username, "");
    EXPECT_EQ(e->password, "");
}

TEST(RedisUrl, EveryPart) {
    auto e = parse_url("redis://alice:s3cret@redis.internal:6380/2");
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->username, "alice");
    EXPECT_EQ(e->password, "s3cret");
    EXPECT_EQ(e->host, "redis.internal");
    EXPECT_EQ(e->port, 6380);
    EXPECT_EQ(e->db, 2);
}

TEST(RedisUrl, PasswordOnlyEitherWay) {
    auto with_colon = parse_url("redis://:pw@127.0.0.1:7000");
    ASSERT_TRUE(with_colon) << with_colon.error();
    EXPECT_EQ(with_colon->username, "");
    EXPECT_EQ(with_colon->password, "pw");
    EXPECT_EQ(with_colon->port, 7000);
    // redis-cli reads userinfo without ':' as the password.
    auto bare = parse_url("redis://pw@127.0.0.1");
    ASSERT_TRUE(bare) << bare.error();
    EXPECT_EQ(bare->username, "");
    EXPECT_EQ(bare->password, "pw");
}

TEST(RedisUrl, PercentDecodingOfUserAndPassword) {
    auto e = parse_url("redis://us%65r:p%40ss%3Aw%2Fo%25rd@h/0");
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->username, "user");
    EXPECT_EQ(e->password, "p@ss:w/o%rd");
}

TEST(RedisUrl, UnencodedAtAndSlashInPasswordSplitAtTheLastAt) {
    auto e = parse_url("redis://u:a@b/c@h:1/3");
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->username, "u");
    EXPECT_EQ(e->password, "a@b/c");
    EXPECT_EQ(e->host, "h");
    EXPECT_EQ(e->port, 1);
    EXPECT_EQ(e->db, 3);
}

TEST(RedisUrl, Ipv6InBrackets) {
    auto e = parse_url("redis://[::1]:6390/1");
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->host, "::1");
    EXPECT_EQ(e->port, 6390);
    EXPECT_EQ(e->db, 1);
    auto no_port = parse_url("redis://[fe80::1]");
    ASSERT_TRUE(no_port) << no_port.error();
    EXPECT_EQ(no_port->host, "fe80::1");
    EXPECT_EQ(no_port->port, 6379);
}

TEST(RedisUrl, TrailingSlashIsDbZero) {
    auto e = parse_url("redis://h:1/");
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->db, 0);
}

TEST(RedisUrl, TlsIsRefusedWithTheReason) {
    auto e = parse_url("rediss://h:6380");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().find("TLS"), std::string::npos) << e.error();
    EXPECT_NE(e.error().find("hiredis 0.14"), std::string::npos) << e.error();
}

struct BadUrl {
    const char* url;
    const char* says;
};

class RedisBadUrl : public ::testing::TestWithParam<BadUrl> {};

TEST_P(RedisBadUrl, IsRefusedWithAReason) {
    auto e = parse_url(GetParam().url);
    ASSERT_FALSE(e) << GetParam().url;
    EXPECT_NE(e.error().find(GetParam().says), std::string::npos) << e.error();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RedisBadUrl,
    ::testing::Values(BadUrl{"http://h:6379", "expected redis://"},
                      BadUrl{"h:6379", "expected redis://"}, BadUrl{"redis://", "no host"},
                      BadUrl{"redis://:6379", "no host"}, BadUrl{"redis://h:", "bad port"},
                      BadUrl{"redis://h:0", "bad port"}, BadUrl{"redis://h:65536", "bad port"},
                      BadUrl{"redis://h:-1", "bad port"}, BadUrl{"redis://h:12ab", "bad port"},
                      BadUrl{"redis://h/x", "bad database"}, BadUrl{"redis://h/-1", "bad database"},
                      BadUrl{"redis://h/1/2", "bad database"},
                      BadUrl{"redis://h/99999999999", "bad database"},
                      BadUrl{"redis://::1:6379", "[brackets]"},
                      BadUrl{"redis://[::1", "unclosed ["}, BadUrl{"redis://[::1]x", "bad host"},
                      BadUrl{"redis://u:p%4@h", "percent-escape in the password"},
                      BadUrl{"redis://u%zz:p@h", "percent-escape in the user name"},
                      BadUrl{"redis://alice:@h", "needs a password"},
                      BadUrl{"redis://h?db=1", "query parameters"}));

TEST(RedisUrl, ErrorsNeverShowThePassword) {
    for (const char* url : {"redis://u:hunter2@h:99999", "redis://u:hunter2@h/x",
                            "redis://hunter2@h:0", "redis://u:hun/ter2@:1"}) {
        auto e = parse_url(url);
        ASSERT_FALSE(e) << url;
        EXPECT_EQ(e.error().find("hunter2"), std::string::npos) << e.error();
        EXPECT_EQ(e.error().find("hun"), std::string::npos) << e.error();
        EXPECT_NE(e.error().find("***"), std::string::npos) << e.error();
    }
}

TEST(RedisUrl, RedactShowsEverythingButThePassword) {
    EXPECT_EQ(redact(*parse_url("redis://alice:s3cret@h:6380/2")), "redis://alice:***@h:6380/2");
    EXPECT_EQ(redact(*parse_url("redis://s3cret@h")), "redis://:***@h:6379/0");
    EXPECT_EQ(redact(*parse_url("redis://h")), "redis://h:6379/0");
    EXPECT_EQ(redact(*parse_url("redis://[::1]:7000/1")), "redis://[::1]:7000/1");
}

}  // namespace
}  // namespace nudge::redis
