// RedisBroker's CONNECT answers (history replay from Redis) and the resync after an outage.
// See redis_broker.hpp.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <utility>

#include "broker/redis_broker.hpp"
#include "broker/redis_broker_detail.hpp"
#include "broker/redis_message.hpp"
#include "common/position.hpp"
#include "metrics/metrics.hpp"

namespace nudge::broker {

namespace asio = boost::asio;
using namespace redis_detail;

void RedisBroker::resubscribe_done() {
    if (!connected_.load(std::memory_order_relaxed)) return;
    // Every room is subscribed again: the reconnect is over, so the next loss starts from the
    // shortest backoff again.
    backoff_ = std::chrono::milliseconds(0);
    if (resync_rooms_.empty()) return;
    spdlog::info("broker redis: {} rooms subscribed again; their sessions get nudge:resync", resync_rooms_.size());
    metrics::registry().broker_resyncs.add(static_cast<std::int64_t>(resync_rooms_.size()));
    // One Hub::resync for the round: each session gets one event naming all its rooms.
    pending_resync_ = std::make_shared<const std::vector<std::string>>(std::exchange(resync_rooms_, {}));
    if (incoming_.empty() && backlog_.empty()) flush_deliveries();
}

void RedisBroker::recover(RecoveryRequest request, std::function<void(Recovery)> done) {
    asio::post(io_, [this, request = std::move(request), done = std::move(done)]() mutable {
        auto waiter = std::make_shared<Waiter>();
        waiter->request = std::move(request);
        waiter->done = std::move(done);
        if (!connected_.load(std::memory_order_relaxed)) {
            answer_offline(waiter);
            return;
        }
        // Answered once every room's subscription is confirmed: from then on every event of
        // those rooms reaches this hub.
        for (const auto& room : waiter->request.rooms) {
            auto it = rooms_.find(room);
            if (it == rooms_.end() || it->second.awaiting == 0) continue;
            ++waiter->rooms_pending;
            it->second.waiters.push_back(waiter);
        }
        if (waiter->rooms_pending == 0) answer(waiter);
    });
}

void RedisBroker::answer_offline(const std::shared_ptr<Waiter>& waiter) {
    // Without Redis nothing can be confirmed: the session is let in (it keeps its rooms; when
    // the links are back its rooms get nudge:resync), and under recovery told it lost them.
    Recovery recovery;
    if (config_.recovery && waiter->request.recovery) {
        recovery.now = Position{epoch_.empty() ? random_epoch() : epoch_, 0};
        recovery.lost_rooms = waiter->request.rooms;
    }
    auto done = std::exchange(waiter->done, nullptr);
    done(std::move(recovery));
}

void RedisBroker::answer(const std::shared_ptr<Waiter>& waiter) {
    if (!config_.recovery || !waiter->request.recovery) {
        auto done = std::exchange(waiter->done, nullptr);
        done(Recovery{});  // no position: a plain CONNECT answer
        return;
    }
    const RecoveryRequest& request = waiter->request;
    std::vector<std::string> args{"1", std::string(kOrderingKey), random_epoch()};
    args.push_back(request.from ? request.from->epoch : std::string());
    args.push_back(std::to_string(request.from ? request.from->seq : 0));
    args.push_back(std::to_string(config_.history.max_replay));
    args.push_back(std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(config_.history.tombstone_ttl).count()));
    for (const auto& room : request.rooms) args.push_back(room);
    run_script(recover_script_, std::move(args), [this, waiter](redis::Reply reply) {
        if (!waiter->done) return;
        if (redis::is_error(reply) || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
            if (reply) spdlog::warn("broker redis: recovery query failed: {}", redis::as_view(*reply));
            answer_offline(waiter);
            return;
        }
        auto done = std::exchange(waiter->done, nullptr);
        done(recovery_from(waiter->request, reply));
    });
}

Recovery RedisBroker::recovery_from(const RecoveryRequest& request, const redis::Reply& reply) const {
    Recovery recovery;
    recovery.now = Position{std::string(element(*reply, 0)), integer(reply->element[1])};
    if (!request.from) return recovery;
    const std::uint64_t now_ms = integer(reply->element[2]);
    std::vector<std::string> lost;
    if (reply->elements >= 5) {
        const redisReply& lost_reply = *reply->element[3];
        for (std::size_t i = 0; i < lost_reply.elements; ++i) lost.emplace_back(element(lost_reply, i));
    }
    // The missed events of every room, merged in position order, each once; skipped when the
    // session is in one of its except rooms.
    std::map<std::uint64_t, hub::Emit> missed;
    if (reply->elements >= 5) {
        const redisReply& messages = *reply->element[4];
        const auto ttl_ms = static_cast<std::uint64_t>(config_.history.ttl.count());
        for (std::size_t i = 0; i < messages.elements; ++i) {
            auto event = decode_event(element(messages, i));
            if (!event) continue;
            const bool too_old = event->ms + ttl_ms < now_ms;
            const auto in_request = [&](const std::string& room) {
                return std::find(request.rooms.begin(), request.rooms.end(), room) != request.rooms.end();
            };
            if (too_old) {
                // Past the recovery window: those rooms resync instead.
                for (const auto& room : event->emit.rooms) {
                    if (in_request(room)) lost.push_back(room);
                }
                continue;
            }
            if (std::any_of(event->emit.except.begin(), event->emit.except.end(), in_request)) continue;
            event->emit.offset = format_offset(event->epoch, event->emit.seq);
            missed.emplace(event->emit.seq, std::move(event->emit));
        }
    }
    std::size_t bytes = 0;
    for (auto& [seq, emit] : missed) {
        // In the session's own form (hub/encoded_emit.hpp); a replay carries the event's own
        // spread, not one derived from the rooms now.
        auto packet = hub::EncodedEmit(emit, emit.spread_ms).packet(request.variant);
        bytes += packet->size() + request.per_packet_overhead;
        recovery.replay.push_back(std::move(packet));
    }
    if (missed.size() > config_.history.max_replay || bytes > request.max_bytes) {
        // Too much to replay into the session's send budget: its rooms with missed events resync.
        for (const auto& [seq, emit] : missed) {
            for (const auto& room : emit.rooms) {
                if (std::find(request.rooms.begin(), request.rooms.end(), room) != request.rooms.end()) {
                    lost.push_back(room);
                }
            }
        }
        recovery.replay.clear();
    }
    std::sort(lost.begin(), lost.end());
    lost.erase(std::unique(lost.begin(), lost.end()), lost.end());
    recovery.lost_rooms = std::move(lost);
    recovery.recovered = recovery.lost_rooms.empty();
    return recovery;
}

}  // namespace nudge::broker
