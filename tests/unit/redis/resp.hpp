// Test helper: RESP bytes → a Reply through hiredis' own reader, so tests of reply consumers
// work on exactly the objects Connection hands out.
#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "redis/reply.hpp"

namespace nudge::redis::test {

inline Reply parse_resp(std::string_view bytes) {
    const std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(redisReaderCreate(),
                                                                          &redisReaderFree);
    void* reply = nullptr;
    if (redisReaderFeed(reader.get(), bytes.data(), bytes.size()) != REDIS_OK ||
        redisReaderGetReply(reader.get(), &reply) != REDIS_OK || reply == nullptr) {
        throw std::invalid_argument("not one complete RESP reply: " + std::string(bytes));
    }
    return Reply(static_cast<redisReply*>(reply));
}

// RESP bulk string.
inline std::string bulk(std::string_view s) {
    std::string out(1, '$');  // appends: GCC 12 warns falsely (-Wrestrict) on "$" + string
    out.append(std::to_string(s.size())).append("\r\n").append(s).append("\r\n");
    return out;
}

}  // namespace nudge::redis::test
