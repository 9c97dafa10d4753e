#include "redis/cluster.hpp"

#include "common/authority.hpp"

#include <array>
#include <limits>
#include <system_error>

namespace nudge::redis {
namespace {

// Byte-at-a-time table for CRC16-XMODEM, computed at compile time from the polynomial.
constexpr std::array<std::uint16_t, 256> make_crc16_table() {
    std::array<std::uint16_t, 256> table{};
    for (unsigned byte = 0; byte < 256; ++byte) {
        unsigned crc = byte << 8U;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 0x8000U) != 0 ? (crc << 1U) ^ 0x1021U : crc << 1U;
        }
        table[byte] = static_cast<std::uint16_t>(crc & 0xFFFFU);
    }
    return table;
}
constexpr std::array<std::uint16_t, 256> kCrc16Table = make_crc16_table();


std::optional<std::uint16_t> slot_of(const redisReply& reply) {
    if (reply.type != REDIS_REPLY_INTEGER || reply.integer < 0 || reply.integer >= kClusterSlots) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(reply.integer);
}

}  // namespace

std::uint16_t crc16(std::string_view bytes) noexcept {
    unsigned crc = 0;
    for (const char c : bytes) {
        const unsigned index = ((crc >> 8U) ^ static_cast<unsigned char>(c)) & 0xFFU;
        crc = ((crc << 8U) ^ kCrc16Table[index]) & 0xFFFFU;
    }
    return static_cast<std::uint16_t>(crc);
}

std::uint16_t key_slot(std::string_view key) noexcept {
    if (const std::size_t open = key.find('{'); open != std::string_view::npos) {
        const std::size_t close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1) {
            key = key.substr(open + 1, close - open - 1);
        }
    }
    return static_cast<std::uint16_t>(crc16(key) % kClusterSlots);
}

std::optional<std::vector<SlotRange>> parse_cluster_slots(const redisReply& reply) {
    if (reply.type != REDIS_REPLY_ARRAY) return std::nullopt;
    std::vector<SlotRange> ranges;
    ranges.reserve(reply.elements);
    for (std::size_t i = 0; i < reply.elements; ++i) {
        const redisReply* entry = reply.element[i];
        if (entry == nullptr || entry->type != REDIS_REPLY_ARRAY || entry->elements < 3) {
            return std::nullopt;
        }
        const auto first = slot_of(*entry->element[0]);
        const auto last = slot_of(*entry->element[1]);
        const redisReply* master = entry->element[2];
        if (!first || !last || *first > *last || master->type != REDIS_REPLY_ARRAY ||
            master->elements < 2) {
            return std::nullopt;
        }
        const redisReply* host = master->element[0];
        const redisReply* port = master->element[1];
        if ((host->type != REDIS_REPLY_STRING && host->type != REDIS_REPLY_NIL) ||
            port->type != REDIS_REPLY_INTEGER || port->integer <= 0 ||
            port->integer > std::numeric_limits<std::uint16_t>::max()) {
            return std::nullopt;
        }
        std::string host_name = host->type == REDIS_REPLY_STRING && host->str != nullptr
                                    ? std::string(host->str, host->len)
                                    : std::string();
        if (host_name == "?") host_name.clear();  // Redis 7's "unknown endpoint" marker
        ranges.push_back(SlotRange{*first, *last, std::move(host_name),
                                   static_cast<std::uint16_t>(port->integer)});
    }
    return ranges;
}

std::optional<Moved> parse_redirect(std::string_view error_text) {
    Moved moved{};
    if (error_text.starts_with("MOVED ")) {
        error_text.remove_prefix(6);
    } else if (error_text.starts_with("ASK ")) {
        error_text.remove_prefix(4);
        moved.ask = true;
    } else {
        return std::nullopt;
    }
    const std::size_t space = error_text.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const auto slot = parse_decimal<unsigned>(error_text.substr(0, space));
    if (!slot || *slot >= kClusterSlots) return std::nullopt;
    const std::string_view address = error_text.substr(space + 1);
    const std::size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto port = parse_decimal<unsigned>(address.substr(colon + 1));
    if (!port || *port == 0 || *port > std::numeric_limits<std::uint16_t>::max()) {
        return std::nullopt;
    }
    std::string_view host = address.substr(0, colon);
    if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
    if (host.find(' ') != std::string_view::npos) return std::nullopt;
    moved.slot = static_cast<std::uint16_t>(*slot);
    moved.host = std::string(host);
    moved.port = static_cast<std::uint16_t>(*port);
    return moved;
}

}  // namespace nudge::redis
