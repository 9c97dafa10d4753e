#include "net/hook_slots.hpp"

#include <utility>

#include "metrics/metrics.hpp"

namespace nudge::net {

HookSlots::Admit HookSlots::admit(std::string_view user, Start start) {
    auto it = users_.find(std::string(user));
    if (it != users_.end() && it->second.held >= config_.max_per_user) {
        metrics::registry().hook_refused_per_user.add(1);
        return Admit::kRefusedUser;
    }
    if (in_flight_ >= config_.max_in_flight && queued_ >= config_.max_queued) {
        return Admit::kRefusedFull;
    }
    if (it == users_.end()) it = users_.emplace(std::string(user), User{}).first;
    User& entry = it->second;
    ++entry.held;
    if (in_flight_ < config_.max_in_flight) {
        ++in_flight_;
        start();
        return Admit::kStarted;
    }
    if (entry.waiting.empty()) turns_.push_back(it->first);
    entry.waiting.push_back(std::move(start));
    ++queued_;
    metrics::registry().hook_queued.add(1);
    return Admit::kQueued;
}

void HookSlots::release(std::string_view user) {
    --in_flight_;
    if (auto it = users_.find(std::string(user)); it != users_.end()) {
        if (--it->second.held == 0) users_.erase(it);
    }
    if (turns_.empty()) return;
    // The next user in turn gets the slot; it goes to the back if it still has calls waiting.
    std::string next = std::move(turns_.front());
    turns_.pop_front();
    User& entry = users_.at(next);
    Start start = std::move(entry.waiting.front());
    entry.waiting.pop_front();
    if (!entry.waiting.empty()) turns_.push_back(std::move(next));
    --queued_;
    metrics::registry().hook_queued.add(-1);
    ++in_flight_;
    start();
}

}  // namespace nudge::net
