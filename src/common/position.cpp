#include "common/position.hpp"

#include <charconv>

#include "common/random_id.hpp"

namespace nudge {

namespace {

constexpr std::size_t kMaxEpoch = 64;

}  // namespace

std::string random_epoch() { return random_id().substr(0, 8); }

std::string format_offset(std::string_view epoch, std::uint64_t seq) {
    std::string out(epoch);
    out.push_back(':');
    out += std::to_string(seq);
    return out;
}

std::optional<Position> parse_offset(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon > kMaxEpoch) return std::nullopt;
    const std::string_view digits = text.substr(colon + 1);
    if (digits.empty()) return std::nullopt;
    std::uint64_t seq = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return Position{std::string(text.substr(0, colon)), seq};
}

std::string make_pid(std::string_view epoch, std::uint64_t seq) {
    std::string pid = format_offset(epoch, seq);
    pid.push_back(':');
    pid += random_id();
    return pid;
}

std::optional<Position> parse_pid(std::string_view text) {
    const auto last = text.rfind(':');
    if (last == std::string_view::npos || last + 1 == text.size()) return std::nullopt;
    return parse_offset(text.substr(0, last));
}

}  // namespace nudge
