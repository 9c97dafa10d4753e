#include "hub/room_index.hpp"

#include <cstdlib>

namespace nudge::hub {

void Memberships::push_back(Membership m) {
    if (size_ < kInline) {
        inline_[size_] = m;
    } else {
        if (!more_) more_ = std::make_unique<std::vector<Membership>>();
        more_->push_back(m);
    }
    ++size_;
}

void Memberships::swap_remove(std::size_t i) noexcept {
    (*this)[i] = (*this)[size_ - 1];
    --size_;
    if (size_ >= kInline) {
        more_->pop_back();
    }
    if (size_ <= kInline) more_.reset();
}

std::size_t Memberships::find(const Room* room) noexcept {
    for (std::size_t i = 0; i < size_; ++i) {
        if ((*this)[i].room == room) return i;
    }
    return size_;
}

void RoomIndex::join(std::string_view name, Subscriber* subscriber) {
    auto it = rooms_.find(name);
    if (it == rooms_.end()) {
        it = rooms_.emplace(std::string(name), Room{}).first;
        it->second.name = &it->first;
        presence_[bucket(name)].fetch_add(1, std::memory_order_release);
        if (on_presence_) on_presence_(name, true);
    }
    Room& room = it->second;
    Memberships& memberships = subscriber->memberships_;
    if (memberships.find(&room) != memberships.size()) return;
    // Before the membership: a broker that starts recording the room does so before any of
    // its events can reach this subscriber.
    if (subscriber->recovers && on_recovering_) on_recovering_(name, true);
    memberships.push_back(Membership{&room, static_cast<std::uint32_t>(room.members.size())});
    room.members.push_back(subscriber);
    if (members_) members_[bucket(name)].fetch_add(1, std::memory_order_relaxed);
}

void RoomIndex::leave(std::string_view name, Subscriber* subscriber) {
    auto it = rooms_.find(name);
    if (it == rooms_.end()) return;
    const std::size_t i = subscriber->memberships_.find(&it->second);
    if (i == subscriber->memberships_.size()) return;
    remove_membership(subscriber, i);
}

void RoomIndex::leave_all(Subscriber* subscriber) {
    while (subscriber->memberships_.size() > 0) {
        remove_membership(subscriber, subscriber->memberships_.size() - 1);
    }
}

void RoomIndex::transfer(Subscriber* from, Subscriber* to) {
    for (std::size_t i = 0; i < from->memberships_.size(); ++i) {
        join(*from->memberships_[i].room->name, to);
    }
    leave_all(from);
}

void RoomIndex::remove_membership(Subscriber* subscriber, std::size_t i) {
    const Membership m = subscriber->memberships_[i];
    subscriber->memberships_.swap_remove(i);
    Room& room = *m.room;
    Subscriber* moved = room.members.back();
    room.members[m.slot] = moved;
    room.members.pop_back();
    if (moved != subscriber) {
        Memberships& theirs = moved->memberships_;
        theirs[theirs.find(&room)].slot = m.slot;
    }
    if (members_) members_[bucket(*room.name)].fetch_sub(1, std::memory_order_relaxed);
    if (subscriber->recovers && on_recovering_) on_recovering_(*room.name, false);
    if (room.members.empty()) {
        const std::string_view name = *room.name;
        presence_[bucket(name)].fetch_sub(1, std::memory_order_release);
        if (on_presence_) on_presence_(name, false);
        rooms_.erase(rooms_.find(name));
    } else if (room.members.capacity() > 64 && room.members.size() < room.members.capacity() / 4) {
        room.members.shrink_to_fit();  // a big room that emptied out gives its memory back
    }
}

const RoomIndex::Members* RoomIndex::find(std::string_view room) const {
    auto it = rooms_.find(room);
    return it == rooms_.end() ? nullptr : &it->second.members;
}

std::size_t RoomIndex::member_count(std::string_view room) const {
    const Members* members = find(room);
    return members == nullptr ? 0 : members->size();
}

}  // namespace nudge::hub
