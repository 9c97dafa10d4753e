#include "redis/cluster.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "resp.hpp"

namespace nudge::redis {
namespace {

using test::bulk;
using test::parse_resp;

TEST(RedisCluster, Crc16IsXmodem) {
    // The check value of CRC16-XMODEM, given in the cluster spec's appendix A.
    EXPECT_EQ(crc16("123456789"), 0x31C3);
    EXPECT_EQ(crc16(""), 0);
}

TEST(RedisCluster, KeySlotKnownValues) {
    // Values from the Redis documentation (CLUSTER KEYSLOT) and the cluster spec.
    EXPECT_EQ(key_slot("foo"), 12182);
    EXPECT_EQ(key_slot("bar"), 5061);
    EXPECT_EQ(key_slot("hello"), 866);
    EXPECT_EQ(key_slot("somekey"), 11058);
    EXPECT_EQ(key_slot("123456789"), 0x31C3 % kClusterSlots);
}

TEST(RedisCluster, HashTagRule) {
    // The examples of the cluster spec, "Hash tags".
    EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
    EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
    EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % kClusterSlots);  // empty tag: whole key
    EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));            // first '{' to first '}'
    EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));             // only the first tag
    EXPECT_EQ(key_slot("foo{bar"), crc16("foo{bar") % kClusterSlots);  // unclosed: whole key
    EXPECT_EQ(key_slot("}foo{bar}"), key_slot("bar"));
}

TEST(RedisCluster, KeySlotAlwaysInRange) {
    std::string key;
    for (int i = 0; i < 5000; ++i) {
        key += static_cast<char>(i * 31);
        EXPECT_LT(key_slot(key), kClusterSlots);
    }
}

// A CLUSTER SLOTS entry as Redis 7 sends it: [first, last, [host, port, id, {}], replicas...].
std::string node(std::string_view host, int port, std::string_view id) {
    return "*4\r\n" + bulk(host) + ":" + std::to_string(port) + "\r\n" + bulk(id) + "*0\r\n";
}

TEST(RedisCluster, ParseClusterSlotsKeepsMasters) {
    const std::string resp =
        "*2\r\n"
        "*4\r\n:0\r\n:5460\r\n" +
        node("127.0.0.1", 7001, "aaaa") + node("127.0.0.1", 7004, "dddd") +
        "*3\r\n:5461\r\n:16383\r\n" + node("::1", 7002, "bbbb");
    const Reply reply = parse_resp(resp);
    const auto ranges = parse_cluster_slots(*reply);
    ASSERT_TRUE(ranges);
    ASSERT_EQ(ranges->size(), 2U);
    EXPECT_EQ((*ranges)[0].first, 0);
    EXPECT_EQ((*ranges)[0].last, 5460);
    EXPECT_EQ((*ranges)[0].host, "127.0.0.1");
    EXPECT_EQ((*ranges)[0].port, 7001);
    EXPECT_EQ((*ranges)[1].first, 5461);
    EXPECT_EQ((*ranges)[1].last, 16383);
    EXPECT_EQ((*ranges)[1].host, "::1");
    EXPECT_EQ((*ranges)[1].port, 7002);
}

TEST(RedisCluster, ParseClusterSlotsOldThreeFieldNodesAndUnknownEndpoints) {
    // Redis < 7 sends [host, port, id]; an unknown endpoint is NULL, "" or "?".
    const std::string resp =
        "*3\r\n"
        "*3\r\n:0\r\n:99\r\n*3\r\n$-1\r\n:7001\r\n" +
        bulk("a") + "*3\r\n:100\r\n:199\r\n*2\r\n" + bulk("") + ":7002\r\n" +
        "*3\r\n:200\r\n:16383\r\n*2\r\n" + bulk("?") + ":7003\r\n";
    const auto ranges = parse_cluster_slots(*parse_resp(resp));
    ASSERT_TRUE(ranges);
    ASSERT_EQ(ranges->size(), 3U);
    for (const auto& range : *ranges) EXPECT_EQ(range.host, "");
    EXPECT_EQ((*ranges)[2].port, 7003);
}

TEST(RedisCluster, ParseClusterSlotsEmptyClusterIsEmpty) {
    const auto ranges = parse_cluster_slots(*parse_resp("*0\r\n"));
    ASSERT_TRUE(ranges);
    EXPECT_TRUE(ranges->empty());
}

TEST(RedisCluster, ParseClusterSlotsRejectsOtherShapes) {
    const std::vector<std::string> cases = {
        std::string("-ERR This instance has cluster support disabled\r\n"),
        std::string("+OK\r\n"),
        std::string("*1\r\n:0\r\n"),
        std::string("*1\r\n*2\r\n:0\r\n:1\r\n"),
        "*1\r\n*3\r\n:0\r\n:16384\r\n" + node("h", 1, "x"),         // slot out of range
        "*1\r\n*3\r\n:10\r\n:9\r\n" + node("h", 1, "x"),            // first > last
        "*1\r\n*3\r\n:-1\r\n:9\r\n" + node("h", 1, "x"),            // negative
        "*1\r\n*3\r\n:0\r\n:9\r\n" + node("h", 0, "x"),             // port 0
        "*1\r\n*3\r\n:0\r\n:9\r\n" + node("h", 70000, "x"),         // port too big
        "*1\r\n*3\r\n" + bulk("0") + ":9\r\n" + node("h", 1, "x"),  // slot as a string
        std::string("*1\r\n*3\r\n:0\r\n:9\r\n*1\r\n") + bulk("h"),  // no port
        std::string("*1\r\n*3\r\n:0\r\n:9\r\n*2\r\n:1\r\n:1\r\n"),  // host not a string
    };
    for (const std::string& resp : cases) {
        EXPECT_FALSE(parse_cluster_slots(*parse_resp(resp))) << resp;
    }
}

TEST(RedisCluster, ParseRedirect) {
    auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
    ASSERT_TRUE(moved);
    EXPECT_FALSE(moved->ask);
    EXPECT_EQ(moved->slot, 3999);
    EXPECT_EQ(moved->host, "127.0.0.1");
    EXPECT_EQ(moved->port, 6381);

    auto ask = parse_redirect("ASK 16383 redis-2.internal:7002");
    ASSERT_TRUE(ask);
    EXPECT_TRUE(ask->ask);
    EXPECT_EQ(ask->slot, 16383);
    EXPECT_EQ(ask->host, "redis-2.internal");
    EXPECT_EQ(ask->port, 7002);

    auto v6 = parse_redirect("MOVED 0 ::1:7003");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 7003);

    auto unknown_host = parse_redirect("MOVED 12 :7004");
    ASSERT_TRUE(unknown_host);
    EXPECT_EQ(unknown_host->host, "");
    EXPECT_EQ(unknown_host->port, 7004);
}

TEST(RedisCluster, ParseRedirectRejectsOtherErrors) {
    for (const char* text :
         {"ERR unknown command", "MOVED", "MOVED 3999", "MOVED 3999 127.0.0.1", "MOVED x 1.2.3.4:1",
          "MOVED 16384 h:1", "MOVED -1 h:1", "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED 1 h:x",
          "moved 1 h:1", "ASK  1 h:1", "CLUSTERDOWN Hash slot not served", ""}) {
        EXPECT_FALSE(parse_redirect(text)) << text;
    }
}

}  // namespace
}  // namespace nudge::redis
