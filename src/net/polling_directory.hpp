// PollingDirectory: which worker holds each HTTP long-polling session.
//
// A polling session's requests are separate HTTP requests, each accepted by whichever worker
// wakes first; the session (its protocol state, queue and rooms) lives on the worker that
// answered its handshake. A request that lands elsewhere looks the owner up here and moves
// its socket there. Locked, but touched only when a polling session opens or ends and on a
// polling request that reached the wrong worker — never on the fan-out path.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nudge::net {

class PollingDirectory {
  public:
    void add(std::string_view sid, std::size_t worker) {
        const std::scoped_lock lock(mutex_);
        owners_.emplace(std::string(sid), worker);
    }
    void remove(std::string_view sid) {
        const std::scoped_lock lock(mutex_);
        owners_.erase(std::string(sid));
    }
    [[nodiscard]] std::optional<std::size_t> owner(std::string_view sid) const {
        const std::scoped_lock lock(mutex_);
        const auto it = owners_.find(std::string(sid));
        if (it == owners_.end()) return std::nullopt;
        return it->second;
    }

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::size_t> owners_;
};

}  // namespace nudge::net
