#include "api/auth_failures.hpp"
#include "metrics/metrics.hpp"

#include <algorithm>

namespace nudge::api {

AuthFailures::AuthFailures(AuthFailureConfig config)
    : config_(config),
      // A source's entry matters for a counting window (backoff), a block (as long) and a log
      // interval after its last failure; past all of them it is forgotten.
      sources_(std::max(config.backoff_window, config.log_interval), kMaxSources, WhenFull::kEvictOldest,
               [](Removal why, const std::string&, const Entry&) {
                   metrics::registry().table_removed(metrics::Table::kAuthFailures,
                                                     why == Removal::kEvicted);
               }) {}

std::optional<std::chrono::seconds> AuthFailures::blocked(std::string_view source,
                                                          Clock::time_point now) {
    if (config_.backoff_failures == 0) return std::nullopt;
    const std::lock_guard lock(mutex_);
    if (sources_.empty()) return std::nullopt;
    const Entry* entry = sources_.peek(source, now);
    if (entry == nullptr || now >= entry->blocked_until) return std::nullopt;
    const auto left = std::chrono::ceil<std::chrono::seconds>(entry->blocked_until - now);
    return std::max(left, std::chrono::seconds(1));
}

AuthFailures::Outcome AuthFailures::record(std::string_view source, Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    // find() drops an entry idle past its TTL, so such a source starts afresh.
    Entry* found = sources_.find(source, now) != nullptr ? sources_.renew(source, now) : nullptr;
    if (found == nullptr) {
        Entry fresh;
        fresh.window_start = now;
        sources_.insert(source, fresh, now);  // kEvictOldest: always there afterwards
        found = sources_.find(source, now);
    }
    Entry& entry = *found;
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

}  // namespace nudge::api
