// HookSlots: who may call the subscribe hook now, on one worker.
//
// Limits hold per principal, not per socket: one user with 300 sockets must not take every
// call slot of the worker and leave other users' subscribes answered "busy". So:
//   - at most `max_in_flight` calls run at once (the backend's protection);
//   - a user has at most `max_per_user` calls running or waiting (past it: refused at once);
//   - when every slot is taken a call waits, at most `max_queued` in all (past it: refused),
//     in its user's FIFO, and a freed slot goes to the users in turn (round robin), so a user
//     with many waiting calls gets one turn like a user with one.
// A waiting call starts when a running one ends; every call has the hook's deadline, so a
// call waits at most (its place in the turn order / max_in_flight) deadlines.
//
// Not thread-safe: one per worker, used only on the worker's thread. No callback runs inside
// admit() except a start that was granted at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nudge::net {

struct HookSlotsConfig {
    std::size_t max_in_flight = 256;  // --subscribe-hook-max-pending
    std::size_t max_per_user = 16;    // --subscribe-hook-max-per-user
    std::size_t max_queued = 1024;    // --subscribe-hook-max-queued
};

class HookSlots {
public:
    using Start = std::function<void()>;
    enum class Admit : std::uint8_t { kStarted, kQueued, kRefusedUser, kRefusedFull };

    explicit HookSlots(HookSlotsConfig config) : config_(config) {}

    // Runs `start` now when a slot is free, or queues it; refused calls never run `start`.
    Admit admit(std::string_view user, Start start);
    // A started call of `user` ended: its slot goes to the next user in turn, if any waits.
    void release(std::string_view user);

    [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
    [[nodiscard]] std::size_t queued() const noexcept { return queued_; }
    [[nodiscard]] std::size_t users() const noexcept { return users_.size(); }

private:
    struct User {
        std::size_t held = 0;  // running and waiting calls
        std::deque<Start> waiting;
    };

    HookSlotsConfig config_;
    std::unordered_map<std::string, User> users_;  // only users with a call running or waiting
    std::deque<std::string> turns_;                // users with a waiting call, in turn order
    std::size_t in_flight_ = 0;
    std::size_t queued_ = 0;
};

}  // namespace nudge::net
