#include "broker/idempotency.hpp"

namespace nudge::broker {

std::optional<std::uint64_t> IdempotencyCache::find(std::string_view id, Clock::time_point now) const {
    auto it = entries_.find(id);
    if (it == entries_.end() || now - it->second.at > window_) return std::nullopt;
    return it->second.seq;
}

void IdempotencyCache::pop_oldest() {
    const Record record = order_.front();
    order_.pop_front();
    auto it = entries_.find(*record.id);
    // A renewed id has a newer record further back; this one is stale.
    if (it != entries_.end() && it->second.at == record.at) entries_.erase(it);
}

void IdempotencyCache::expire(Clock::time_point now) {
    while (!order_.empty() && now - order_.front().at > window_) pop_oldest();
}

std::size_t IdempotencyCache::insert(std::string_view id, std::uint64_t seq, Clock::time_point now) {
    expire(now);
    std::size_t forgotten = 0;
    while (max_entries_ > 0 && entries_.size() >= max_entries_ && !order_.empty()) {
        const std::size_t before = entries_.size();
        pop_oldest();
        forgotten += before - entries_.size();
    }
    auto it = entries_.find(id);
    if (it == entries_.end()) {
        it = entries_.emplace(std::string(id), Entry{seq, now}).first;
    } else {
        it->second = Entry{seq, now};  // an expired id used again
    }
    order_.push_back(Record{&it->first, now});
    return forgotten;
}

}  // namespace nudge::broker
