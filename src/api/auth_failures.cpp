#include "api/auth_failures.hpp"

#include <algorithm>

namespace nudge::api {

std::optional<std::chrono::seconds> AuthFailures::blocked(std::string_view source,
                                                          Clock::time_point now) {
    if (config_.backoff_failures == 0) return std::nullopt;
    const std::lock_guard lock(mutex_);
    if (sources_.empty()) return std::nullopt;
    const auto it = sources_.find(std::string(source));
    if (it == sources_.end() || now >= it->second.blocked_until) return std::nullopt;
    const auto left = std::chrono::ceil<std::chrono::seconds>(it->second.blocked_until - now);
    return std::max(left, std::chrono::seconds(1));
}

AuthFailures::Outcome AuthFailures::record(std::string_view source, Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    auto it = sources_.find(std::string(source));
    if (it == sources_.end()) {
        if (sources_.size() >= kMaxSources) make_room(now);
        it = sources_.emplace(std::string(source), Entry{}).first;
        it->second.window_start = now;
    }
    Entry& entry = it->second;
    entry.last_seen = now;
    ++entry.unlogged;

    Outcome outcome;
    if (config_.backoff_failures > 0) {
        if (now - entry.window_start >= config_.backoff_window) {
            entry.window_start = now;
            entry.window_failures = 0;
        }
        if (++entry.window_failures >= config_.backoff_failures && now >= entry.blocked_until) {
            entry.blocked_until = now + config_.backoff_window;
            entry.window_start = now;
            entry.window_failures = 0;
            outcome.now_blocked = true;
        }
    }
    if (!entry.logged_once || now - entry.last_log >= config_.log_interval) {
        outcome.log = true;
        outcome.failures = entry.unlogged;
        entry.unlogged = 0;
        entry.last_log = now;
        entry.logged_once = true;
    }
    return outcome;
}

std::size_t AuthFailures::tracked() const {
    const std::lock_guard lock(mutex_);
    return sources_.size();
}

void AuthFailures::make_room(Clock::time_point now) {
    const auto idle = std::max(config_.backoff_window, config_.log_interval);
    std::erase_if(sources_, [&](const auto& item) {
        return now - item.second.last_seen >= idle && now >= item.second.blocked_until;
    });
    if (sources_.size() >= kMaxSources) sources_.clear();
}

}  // namespace nudge::api
