#include "hub/grants.hpp"

#include <unordered_set>

#include "metrics/metrics.hpp"

namespace nudge::hub {

Grants::Grants(std::chrono::seconds ttl, std::size_t max_entries, std::size_t max_per_selector)
    : ttl_(ttl),
      max_entries_(max_entries),
      max_per_selector_(max_per_selector),
      // Refuse rather than evict: a grant is the backend's decision, and add() reports the
      // refusal (hub metric), whereas a silently evicted grant would just vanish.
      by_selector_(ttl, max_entries, WhenFull::kRefuseNew,
                   [this](Removal, const std::string&, const Rooms& rooms) {
                       // A selector leaves with its newest room: every pair in it expired.
                       metrics::registry().table_removed(metrics::Table::kGrantedRooms, false,
                                                         static_cast<std::int64_t>(rooms.size()));
                       entries_ -= rooms.size();
                   }) {}

Grants::Rooms Grants::make_rooms() {
    return {ttl_, max_per_selector_, WhenFull::kRefuseNew,
            [this](Removal, const std::string&, const Granted&) {
                metrics::registry().table_removed(metrics::Table::kGrantedRooms, false);
                on_room_removed();
            }};
}

bool Grants::add(std::span<const std::string> selectors, std::span<const std::string> rooms,
                 Clock::time_point now) {
    if (!enabled()) return true;
    const std::lock_guard lock(mutex_);
    bool all = true;
    std::uint64_t visits = 0;
    std::int64_t refused = 0;  // pairs not remembered: the table (or the selector's) was full
    for (const auto& selector : selectors) {
        Rooms* granted = by_selector_.renew(selector, now);
        if (granted == nullptr) {
            if (entries_ >= max_entries_) by_selector_.expire(now);
            if (entries_ >= max_entries_ ||
                by_selector_.insert(selector, make_rooms(), now) == Inserted::kRefused) {
                all = false;
                refused += static_cast<std::int64_t>(rooms.size());
                continue;
            }
            granted = by_selector_.find(selector, now);
        }
        for (const auto& room : rooms) {
            ++visits;
            if (room == selector) continue;
            if (entries_ >= max_entries_ && granted->peek(room, now) == nullptr) {
                by_selector_.expire(now);
                granted->expire(now);
                if (entries_ >= max_entries_) {
                    all = false;
                    ++refused;
                    continue;
                }
            }
            switch (granted->insert(room, Granted{}, now)) {
                case Inserted::kNew: ++entries_; break;
                case Inserted::kRefused:
                    all = false;
                    ++refused;
                    break;
                case Inserted::kRenewed:
                case Inserted::kEvicted: break;  // kRefuseNew never evicts
            }
        }
    }
    visits_.fetch_add(visits, std::memory_order_relaxed);
    if (refused != 0) metrics::registry().table_refusals[metrics::Table::kGrantedRooms].add(refused);
    return all;
}

void Grants::remove(std::span<const std::string> selectors, std::span<const std::string> rooms) {
    if (!enabled()) return;
    const std::lock_guard lock(mutex_);
    for (const auto& selector : selectors) {
        Rooms* granted = by_selector_.find_any(selector);
        if (granted == nullptr) continue;
        for (const auto& room : rooms) {
            if (granted->erase(room)) --entries_;
        }
        if (granted->empty()) by_selector_.erase(selector);
    }
}

void Grants::clear(std::span<const std::string> selectors) {
    if (!enabled()) return;
    const std::lock_guard lock(mutex_);
    for (const auto& selector : selectors) {
        if (const Rooms* granted = by_selector_.find_any(selector); granted != nullptr) {
            entries_ -= granted->size();
            by_selector_.erase(selector);
        }
    }
}

std::vector<std::string> Grants::rooms_for(std::span<const std::string> selectors,
                                           Clock::time_point now) const {
    std::vector<std::string> copied;
    if (!enabled()) return copied;
    {
        const std::lock_guard lock(mutex_);
        for (const auto& selector : selectors) {
            Rooms* granted = by_selector_.find(selector, now);
            if (granted == nullptr) continue;
            granted->expire(now);  // O(expired): they sit at the front
            copied.reserve(copied.size() + granted->size());
            granted->for_each(now, [&](const std::string& room, const Granted&) { copied.push_back(room); });
        }
    }
    // Out of the lock: a room granted to several of the selectors is joined once.
    std::vector<std::size_t> first;
    {
        std::unordered_set<std::string_view, TransparentHash> seen;
        seen.reserve(copied.size());
        for (std::size_t i = 0; i < copied.size(); ++i) {
            if (seen.insert(copied[i]).second) first.push_back(i);
        }
    }
    std::vector<std::string> out;
    out.reserve(first.size());
    for (const std::size_t i : first) out.push_back(std::move(copied[i]));
    visits_.fetch_add(2 * copied.size(), std::memory_order_relaxed);
    return out;
}

std::size_t Grants::size() const {
    const std::lock_guard lock(mutex_);
    return entries_;
}

}  // namespace nudge::hub
