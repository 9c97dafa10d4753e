// Admission: the limits on new connections — at most N open per source address and at most
// R new connections per second for the whole process (a token bucket with a burst of R).
// Both are off by default (load generators open 19k connections from 40 addresses).
//
// Thread-safe: every worker's acceptor asks here (a mutex; taken only on accept and close,
// never on the data path). Addresses are kept as 32-bit hashes: two addresses that collide
// share one count, which can only make the limit stricter for them.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace nudge::net {

struct AdmissionConfig {
    std::uint32_t max_connections_per_ip = 0;  // 0: no limit
    std::uint32_t max_connect_rate = 0;        // new connections per second; 0: no limit
};

class Admission {
public:
    enum class Verdict { kAdmitted, kTooManyFromAddress, kRateLimited };
    using Clock = std::chrono::steady_clock;

    explicit Admission(AdmissionConfig config = {}) { configure(config); }
    // Before serving only (not synchronized with admit()).
    void configure(AdmissionConfig config) {
        config_ = config;
        tokens_ = config.max_connect_rate;
    }

    // On kAdmitted, `key` is what release() takes when the connection ends (0 when the
    // per-address limit is off: nothing to give back).
    Verdict admit(const boost::asio::ip::address& address, std::uint32_t& key,
                  Clock::time_point now = Clock::now());
    void release(std::uint32_t key);
    [[nodiscard]] std::uint32_t open_from(const boost::asio::ip::address& address);

private:
    static std::uint32_t key_of(const boost::asio::ip::address& address) noexcept;

    AdmissionConfig config_;
    std::mutex mutex_;
    std::unordered_map<std::uint32_t, std::uint32_t> open_;  // address key → open connections
    double tokens_ = 0;
    Clock::time_point refilled_{};
};

}  // namespace nudge::net
