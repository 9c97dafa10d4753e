#include "common/event_version.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <limits>

namespace nudge {

namespace {

constexpr std::size_t kMaxHexDigits = 8;
constexpr std::size_t kMaxDecimalDigits = 20;

std::optional<std::uint32_t> parse_hex_part(std::string_view text) {
    if (text.empty() || text.size() > kMaxHexDigits) return std::nullopt;
    std::uint32_t value = 0;
    for (const char c : text) {
        std::uint32_t digit = 0;
        if (c >= '0' && c <= '9') {
            digit = static_cast<std::uint32_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<std::uint32_t>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            digit = static_cast<std::uint32_t>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
        value = (value << 4U) | digit;  // at most 8 digits: no overflow
    }
    return value;
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
    if (text.empty() || text.size() > kMaxDecimalDigits) return std::nullopt;
    std::uint64_t value = 0;
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (kMax - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

}  // namespace

std::optional<EventVersion> parse_event_version(std::string_view text) {
    if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
        const auto high = parse_hex_part(text.substr(0, slash));
        const auto low = parse_hex_part(text.substr(slash + 1));
        if (!high || !low) return std::nullopt;
        return EventVersion{fmt::format("{:X}/{:X}", *high, *low),
                            (static_cast<std::uint64_t>(*high) << 32U) | *low};
    }
    const auto value = parse_decimal(text);
    if (!value) return std::nullopt;
    return event_version_from_integer(*value);
}

EventVersion event_version_from_integer(std::uint64_t value) {
    return EventVersion{std::to_string(value), value};
}

}  // namespace nudge
