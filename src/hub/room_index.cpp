#include "hub/room_index.hpp"

#include <algorithm>

namespace nudge::hub {

void RoomIndex::join(std::string_view room, Subscriber* subscriber) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) {
        it = rooms_.emplace(std::string(room), Members{}).first;
        presence_[bucket(room)].fetch_add(1, std::memory_order_release);
    }
    Members& members = it->second;
    if (std::find(members.begin(), members.end(), subscriber) == members.end()) {
        members.push_back(subscriber);
    }
}

void RoomIndex::leave(std::string_view room, Subscriber* subscriber) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    Members& members = it->second;
    auto pos = std::find(members.begin(), members.end(), subscriber);
    if (pos == members.end()) return;
    *pos = members.back();
    members.pop_back();
    if (members.empty()) {
        rooms_.erase(it);
        presence_[bucket(room)].fetch_sub(1, std::memory_order_release);
    } else if (members.capacity() > 64 && members.size() < members.capacity() / 4) {
        members.shrink_to_fit();  // a big room that emptied out gives its memory back
    }
}

const RoomIndex::Members* RoomIndex::find(std::string_view room) const {
    auto it = rooms_.find(room);
    return it == rooms_.end() ? nullptr : &it->second;
}

std::size_t RoomIndex::member_count(std::string_view room) const {
    const Members* members = find(room);
    return members == nullptr ? 0 : members->size();
}

}  // namespace nudge::hub
