// BoundedMap: a hash map whose entries expire after a TTL and whose size never passes a bound.
// The one shape of every table the hub fills from the network (idempotency ids, granted rooms,
// the subscribe hook's cache, wrong-key sources, recently delivered positions).
//
// - One TTL per table: an entry lives until `ttl` after it was last inserted or renewed. Since
//   every entry gets the same TTL, the order of last renewal is also the order of expiry: the
//   entries sit on one list in that order, so expire() pops from its front and costs
//   O(entries expired), and the oldest entry is found in O(1).
// - At `max_entries`, expired entries go first; if it is still full, the table's policy decides:
//   kEvictOldest forgets the oldest entry to make room (a cache: the newest knowledge wins),
//   kRefuseNew leaves the table as it is and insert() answers kRefused (a table whose entries
//   are promises the caller must not break silently).
// - A metric hook: `on_remove` runs for every entry that leaves other than by erase() (expired
//   or evicted), with the key and value, so a caller counts it or keeps an index in step.
//   insert()'s answer says whether the entry was refused or pushed another out.
//
// Keys: std::string keys are looked up by std::string_view without a copy (TransparentHash).
// Not thread-safe: the owner locks, or uses it from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace nudge {

// Hashes std::string and std::string_view alike, so a map keyed by std::string can be searched
// with a view (heterogeneous lookup, C++20) and no temporary string is built per lookup.
struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <class Key>
using DefaultHash = std::conditional_t<std::is_same_v<Key, std::string>, TransparentHash, std::hash<Key>>;

enum class WhenFull { kEvictOldest, kRefuseNew };
enum class Removal { kExpired, kEvicted };
enum class Inserted {
    kNew,       // added
    kRenewed,   // was there: value replaced, TTL restarted
    kEvicted,   // added after the oldest entry was forgotten to make room (kEvictOldest)
    kRefused,   // not added: full (kRefuseNew)
};

template <class Key, class Value, class Hash = DefaultHash<Key>>
class BoundedMap {
public:
    using Clock = std::chrono::steady_clock;
    using Duration = Clock::duration;
    using OnRemove = std::function<void(Removal, const Key&, const Value&)>;
    // A TTL that never ends: the table is bounded by its size alone.
    static constexpr Duration kNoExpiry = Duration::max();

    BoundedMap(Duration ttl, std::size_t max_entries, WhenFull when_full, OnRemove on_remove = {})
        : ttl_(ttl), max_entries_(max_entries), when_full_(when_full), on_remove_(std::move(on_remove)) {}
    BoundedMap(BoundedMap&&) noexcept = default;
    BoundedMap& operator=(BoundedMap&&) noexcept = default;
    BoundedMap(const BoundedMap&) = delete;
    BoundedMap& operator=(const BoundedMap&) = delete;

    // The value of `key` when it has not expired (an expired entry found here is removed).
    template <class K>
    [[nodiscard]] Value* find(const K& key, Clock::time_point now) {
        auto it = slots_.find(key);
        if (it == slots_.end()) return nullptr;
        if (it->second.until <= now) {
            remove(it, Removal::kExpired);
            return nullptr;
        }
        return &it->second.value;
    }
    // The value of `key` whether or not its TTL has ended (to change or drop it).
    template <class K>
    [[nodiscard]] Value* find_any(const K& key) {
        auto it = slots_.find(key);
        return it == slots_.end() ? nullptr : &it->second.value;
    }
    // Read-only lookup: an expired entry is reported absent but left for expire().
    template <class K>
    [[nodiscard]] const Value* peek(const K& key, Clock::time_point now) const {
        auto it = slots_.find(key);
        return it == slots_.end() || it->second.until <= now ? nullptr : &it->second.value;
    }

    // Sets `key` to `value` until now + ttl (a present key is renewed: it becomes the newest).
    template <class K>
    Inserted insert(K&& key, Value value, Clock::time_point now) {
        const Clock::time_point until = deadline(now);
        auto it = slots_.find(key);
        if (it != slots_.end()) {
            it->second.value = std::move(value);
            it->second.until = until;
            order_.splice(order_.end(), order_, it->second.order);
            return Inserted::kRenewed;
        }
        Inserted result = Inserted::kNew;
        if (max_entries_ == 0) return Inserted::kRefused;
        if (slots_.size() >= max_entries_) expire(now);
        if (slots_.size() >= max_entries_) {
            if (when_full_ == WhenFull::kRefuseNew) return Inserted::kRefused;
            remove(slots_.find(*order_.front()), Removal::kEvicted);
            result = Inserted::kEvicted;
        }
        it = slots_.emplace(Key(std::forward<K>(key)), Slot{std::move(value), until, {}}).first;
        it->second.order = order_.insert(order_.end(), &it->first);
        return result;
    }

    // Restarts the TTL of `key` (it becomes the newest) and returns its value, without replacing
    // it; nullptr when absent. An entry past its TTL but not removed yet comes back to life.
    template <class K>
    Value* renew(const K& key, Clock::time_point now) {
        auto it = slots_.find(key);
        if (it == slots_.end()) return nullptr;
        it->second.until = deadline(now);
        order_.splice(order_.end(), order_, it->second.order);
        return &it->second.value;
    }

    // Forgets `key` (no hook: the caller knows). True when it was there.
    template <class K>
    bool erase(const K& key) {
        auto it = slots_.find(key);
        if (it == slots_.end()) return false;
        order_.erase(it->second.order);
        slots_.erase(it);
        return true;
    }

    // Removes every entry whose TTL has ended: O(entries removed).
    std::size_t expire(Clock::time_point now) {
        std::size_t removed = 0;
        while (!order_.empty()) {
            auto it = slots_.find(*order_.front());
            if (it->second.until > now) break;
            remove(it, Removal::kExpired);
            ++removed;
        }
        return removed;
    }

    void clear() noexcept {
        order_.clear();
        slots_.clear();
    }

    // Calls f(key, value) — or f(key, value, until) when f takes it, to save the table — for
    // every unexpired entry, oldest first.
    template <class F>
    void for_each(Clock::time_point now, F&& f) const {
        for (const Key* key : order_) {
            const auto it = slots_.find(*key);
            if (it->second.until <= now) continue;
            if constexpr (std::is_invocable_v<F&, const Key&, const Value&, Clock::time_point>) {
                f(it->first, it->second.value, it->second.until);
            } else {
                f(it->first, it->second.value);
            }
        }
    }
    [[nodiscard]] Duration ttl() const noexcept { return ttl_; }

    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
    [[nodiscard]] bool empty() const noexcept { return slots_.empty(); }
    [[nodiscard]] std::size_t max_entries() const noexcept { return max_entries_; }
    // When the newest entry expires (time_point::min() when empty): a table of tables uses it
    // as the TTL of the inner table.
    [[nodiscard]] Clock::time_point newest_until() const {
        return order_.empty() ? Clock::time_point::min() : slots_.find(*order_.back())->second.until;
    }

private:
    using Order = std::list<const Key*>;  // keys of slots_ (node keys are stable), oldest first
    struct Slot {
        Value value;
        Clock::time_point until;
        typename Order::iterator order;
    };
    using Slots = std::unordered_map<Key, Slot, Hash, std::equal_to<>>;

    [[nodiscard]] Clock::time_point deadline(Clock::time_point now) const {
        if (ttl_ == kNoExpiry || now > Clock::time_point::max() - ttl_) return Clock::time_point::max();
        return now + ttl_;
    }
    void remove(typename Slots::iterator it, Removal why) {
        order_.erase(it->second.order);
        if (!on_remove_) {
            slots_.erase(it);
            return;
        }
        // The hook sees the entry after it left the table, so it may look the table up.
        auto node = slots_.extract(it);
        on_remove_(why, node.key(), node.mapped().value);
    }

    Duration ttl_;
    std::size_t max_entries_;
    WhenFull when_full_;
    OnRemove on_remove_;
    Slots slots_;
    Order order_;
};

}  // namespace nudge
