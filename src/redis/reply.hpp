// Reply: one parsed Redis reply as hiredis' reader builds it (hiredis/read.h), owned through a
// unique_ptr that frees it with freeReplyObject. A null Reply is how Connection says "no answer:
// the connection was lost or closed first". Replies are plain data: any thread may read one that
// it owns.
#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <string_view>

namespace nudge::redis {

struct ReplyDeleter {
    void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// The bytes of a string, status or error reply; empty for the other types.
[[nodiscard]] inline std::string_view as_view(const redisReply& reply) noexcept {
    switch (reply.type) {
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_STATUS:
        case REDIS_REPLY_ERROR:
            return reply.str == nullptr ? std::string_view{}
                                        : std::string_view(reply.str, reply.len);
        default:
            return {};
    }
}

// An error reply, or no reply at all (the connection was lost before the answer).
[[nodiscard]] inline bool is_error(const Reply& reply) noexcept {
    return !reply || reply->type == REDIS_REPLY_ERROR;
}

}  // namespace nudge::redis
