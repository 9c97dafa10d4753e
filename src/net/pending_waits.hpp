// PendingWaits: the asynchronous operations that may still call back into a connection.
//
// The worker frees a closed connection only when none is left (Connection::reapable()). Each
// operation holds a Token inside its callback: the claim starts when the token is made and
// ends when the callback object holding it is destroyed — after it ran, or when the operation
// was dropped — so no `++`/`--` pair can be missed on an early return. A copy of a callback
// carries a claim of its own. The count is atomic because a callback may be destroyed on
// another thread (a broker answering on its own loop); the worker's acquire load then sees
// that thread done with the connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace nudge::net {

class PendingWaits {
public:
    class Token {
    public:
        Token() = default;
        explicit Token(PendingWaits& waits) noexcept : waits_(&waits) { waits_->add(); }
        Token(const Token& other) noexcept : waits_(other.waits_) {
            if (waits_ != nullptr) waits_->add();
        }
        Token(Token&& other) noexcept : waits_(std::exchange(other.waits_, nullptr)) {}
        Token& operator=(Token other) noexcept {
            std::swap(waits_, other.waits_);
            return *this;
        }
        ~Token() {
            if (waits_ != nullptr) waits_->count_.fetch_sub(1, std::memory_order_acq_rel);
        }

    private:
        PendingWaits* waits_ = nullptr;
    };

    [[nodiscard]] Token token() noexcept { return Token(*this); }
    [[nodiscard]] bool none() const noexcept {
        return count_.load(std::memory_order_acquire) == 0;
    }

private:
    void add() noexcept { count_.fetch_add(1, std::memory_order_relaxed); }

    std::atomic<std::uint16_t> count_{0};  // a few per connection; 2 bytes keep it small
};

}  // namespace nudge::net
