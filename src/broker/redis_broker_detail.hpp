// What the RedisBroker's files share: channel names, limits and reply helpers. Internal to
// src/broker (redis_broker.cpp, redis_links.cpp, redis_subscriptions.cpp, redis_recovery.cpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hub/subscriber.hpp"
#include "redis/reply.hpp"

namespace nudge::broker::redis_detail {

inline constexpr std::string_view kRoomPrefix = "nudge:r:";
inline constexpr std::string_view kOpsChannel = "nudge:ops";
inline constexpr std::string_view kOrderingKey = "{nudge}:seq";
inline constexpr std::size_t kRecentPositions = 65536;  // de-duplication window of received events
inline constexpr std::chrono::milliseconds kMaxBackoff{5000};
inline constexpr std::chrono::milliseconds kWatchInterval{1000};
// Events that carry no position (@socket.io/redis-emitter's): delivered to every session, even
// one that replayed history (deliver_from) or is holding.
inline constexpr std::uint64_t kUnsequenced = hub::Subscriber::kHold - 1;

inline std::string room_channel(std::string_view room) {
    std::string channel(kRoomPrefix);
    channel.append(room);
    return channel;
}

inline std::string_view element(const redisReply& reply, std::size_t i) {
    return i < reply.elements && reply.element[i] != nullptr ? redis::as_view(*reply.element[i])
                                                             : std::string_view{};
}

inline std::uint64_t integer(const redisReply* reply) {
    if (reply == nullptr) return 0;
    if (reply->type == REDIS_REPLY_INTEGER) return static_cast<std::uint64_t>(std::max<long long>(reply->integer, 0));
    std::uint64_t value = 0;
    const std::string_view text = redis::as_view(*reply);
    for (const char c : text) {
        if (c < '0' || c > '9') return 0;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value;
}

}  // namespace nudge::broker::redis_detail
