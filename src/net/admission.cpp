#include "net/admission.hpp"

#include <algorithm>
#include <string_view>

namespace nudge::net {

std::uint32_t Admission::key_of(const boost::asio::ip::address& address) noexcept {
    std::size_t h = 0;
    if (address.is_v4()) {
        h = std::hash<std::uint32_t>{}(address.to_v4().to_uint());
    } else {
        const auto bytes = address.to_v6().to_bytes();
        h = std::hash<std::string_view>{}(
            std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
    const auto key = static_cast<std::uint32_t>(h ^ (h >> 32));
    return key == 0 ? 1 : key;  // 0 means "not tracked"
}

Admission::Verdict Admission::admit(const boost::asio::ip::address& address, std::uint32_t& key,
                                    Clock::time_point now) {
    key = 0;
    if (config_.max_connections_per_ip == 0 && config_.max_connect_rate == 0) return Verdict::kAdmitted;
    std::lock_guard lock(mutex_);
    if (config_.max_connect_rate != 0) {
        const double rate = config_.max_connect_rate;
        if (refilled_ != Clock::time_point{}) {
            const double seconds = std::chrono::duration<double>(now - refilled_).count();
            tokens_ = std::min(rate, tokens_ + seconds * rate);
        }
        refilled_ = now;
        if (tokens_ < 1.0) return Verdict::kRateLimited;
    }
    if (config_.max_connections_per_ip != 0) {
        const std::uint32_t k = key_of(address);
        std::uint32_t& open = open_[k];
        if (open >= config_.max_connections_per_ip) {
            if (open == 0) open_.erase(k);
            return Verdict::kTooManyFromAddress;
        }
        ++open;
        key = k;
    }
    if (config_.max_connect_rate != 0) tokens_ -= 1.0;
    return Verdict::kAdmitted;
}

void Admission::release(std::uint32_t key) {
    if (key == 0) return;
    std::lock_guard lock(mutex_);
    auto it = open_.find(key);
    if (it == open_.end()) return;
    if (--it->second == 0) open_.erase(it);
}

std::uint32_t Admission::open_from(const boost::asio::ip::address& address) {
    std::lock_guard lock(mutex_);
    auto it = open_.find(key_of(address));
    return it == open_.end() ? 0 : it->second;
}

}  // namespace nudge::net
