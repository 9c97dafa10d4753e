#include "redis/reply.hpp"

#include <gtest/gtest.h>

#include "resp.hpp"

namespace nudge::redis {
namespace {

using test::parse_resp;

TEST(RedisReply, AsViewOfEachType) {
    EXPECT_EQ(as_view(*parse_resp(std::string_view("$5\r\nhe\0lo\r\n", 11))),
              std::string_view("he\0lo", 5));
    EXPECT_EQ(as_view(*parse_resp("+OK\r\n")), "OK");
    EXPECT_EQ(as_view(*parse_resp("-ERR no\r\n")), "ERR no");
    EXPECT_EQ(as_view(*parse_resp(":42\r\n")), "");
    EXPECT_EQ(as_view(*parse_resp("$-1\r\n")), "");
    EXPECT_EQ(as_view(*parse_resp("*1\r\n+x\r\n")), "");
    EXPECT_EQ(as_view(*parse_resp("$0\r\n\r\n")), "");
}

TEST(RedisReply, IsErrorCountsALostConnection) {
    EXPECT_TRUE(is_error(Reply()));
    EXPECT_TRUE(is_error(parse_resp("-WRONGTYPE x\r\n")));
    EXPECT_FALSE(is_error(parse_resp("+OK\r\n")));
    EXPECT_FALSE(is_error(parse_resp("$-1\r\n")));
    EXPECT_FALSE(is_error(parse_resp("*1\r\n-ERR inside\r\n")));  // an array holding one is not
}

}  // namespace
}  // namespace nudge::redis
