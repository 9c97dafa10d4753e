#include "hub/grants.hpp"

#include <algorithm>

namespace nudge::hub {

bool Grants::add(std::span<const std::string> selectors, std::span<const std::string> rooms,
                 Clock::time_point now) {
    if (!enabled()) return true;
    const Clock::time_point until = now + ttl_;
    const std::lock_guard lock(mutex_);
    bool all = true;
    for (const auto& selector : selectors) {
        for (const auto& room : rooms) {
            if (room == selector) continue;
            auto it = by_selector_.find(selector);
            if (it != by_selector_.end()) {
                if (auto granted = it->second.find(room); granted != it->second.end()) {
                    granted->second = until;
                    continue;
                }
            }
            if (entries_ >= max_entries_) purge_expired(now);
            if (entries_ >= max_entries_) {
                all = false;
                continue;
            }
            if (it == by_selector_.end()) it = by_selector_.emplace(selector, Rooms{}).first;
            it->second.emplace(room, until);
            ++entries_;
        }
    }
    return all;
}

void Grants::remove(std::span<const std::string> selectors, std::span<const std::string> rooms) {
    if (!enabled()) return;
    const std::lock_guard lock(mutex_);
    for (const auto& selector : selectors) {
        auto it = by_selector_.find(selector);
        if (it == by_selector_.end()) continue;
        for (const auto& room : rooms) {
            if (auto granted = it->second.find(room); granted != it->second.end()) {
                it->second.erase(granted);
                --entries_;
            }
        }
        if (it->second.empty()) by_selector_.erase(it);
    }
}

void Grants::clear(std::span<const std::string> selectors) {
    if (!enabled()) return;
    const std::lock_guard lock(mutex_);
    for (const auto& selector : selectors) {
        auto it = by_selector_.find(selector);
        if (it == by_selector_.end()) continue;
        entries_ -= it->second.size();
        by_selector_.erase(it);
    }
}

std::vector<std::string> Grants::rooms_for(std::span<const std::string> selectors,
                                           Clock::time_point now) const {
    std::vector<std::string> out;
    if (!enabled()) return out;
    const std::lock_guard lock(mutex_);
    for (const auto& selector : selectors) {
        auto it = by_selector_.find(selector);
        if (it == by_selector_.end()) continue;
        for (const auto& [room, until] : it->second) {
            if (until <= now) continue;
            if (std::find(out.begin(), out.end(), room) == out.end()) out.push_back(room);
        }
    }
    return out;
}

std::size_t Grants::size() const {
    const std::lock_guard lock(mutex_);
    return entries_;
}

void Grants::purge_expired(Clock::time_point now) {
    for (auto it = by_selector_.begin(); it != by_selector_.end();) {
        std::erase_if(it->second, [&](const auto& entry) {
            if (entry.second > now) return false;
            --entries_;
            return true;
        });
        it = it->second.empty() ? by_selector_.erase(it) : std::next(it);
    }
}

}  // namespace nudge::hub
