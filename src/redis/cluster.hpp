// Redis Cluster helpers (https://redis.io/docs/reference/cluster-spec/): the hash slot of a key
// or sharded channel, the slot map from CLUSTER SLOTS, and the MOVED/ASK redirections. Pure
// functions, no I/O; safe from any thread. hiredis 0.14 has none of this, so it lives here.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nudge::redis {

inline constexpr std::uint16_t kClusterSlots = 16384;

// CRC16-XMODEM (polynomial 0x1021, initial value 0), as the cluster spec's appendix A defines.
[[nodiscard]] std::uint16_t crc16(std::string_view bytes) noexcept;

// HASH_SLOT = CRC16(key) mod 16384, where key is only the part between the first '{' and the
// first '}' after it when that part is not empty (the "hash tag" rule of the cluster spec).
[[nodiscard]] std::uint16_t key_slot(std::string_view key) noexcept;

// One contiguous range of slots and the master serving it.
struct SlotRange {
    std::uint16_t first;
    std::uint16_t last;  // inclusive
    // The master's preferred endpoint. Empty when the cluster does not know it (Redis 7 sends
    // NULL or ""): then use the host the CLUSTER SLOTS reply came from, with `port`.
    std::string host;
    std::uint16_t port;
};

// The reply of CLUSTER SLOTS: [[first, last, [host, port, id, ...], replicas...], ...]. Only
// masters are kept. nullopt when the reply does not have that shape (an error reply included).
[[nodiscard]] std::optional<std::vector<SlotRange>> parse_cluster_slots(const redisReply& reply);

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381" (the text of an error reply, without
// the RESP '-'). The host may be an IPv6 address (split at the last ':') or empty (Redis 7 with an
// unknown endpoint: same host as the node that answered). nullopt for any other error.
struct Moved {
    std::uint16_t slot;
    std::string host;
    std::uint16_t port;
    bool ask;  // ASK: a one-off redirection (send ASKING first); MOVED: update the slot map
};
[[nodiscard]] std::optional<Moved> parse_redirect(std::string_view error_text);

}  // namespace nudge::redis
