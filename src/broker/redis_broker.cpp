#include "broker/redis_broker.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <utility>

#include "broker/redis_broker_detail.hpp"
#include "broker/redis_message.hpp"
#include "broker/redis_scripts.hpp"
#include "common/position.hpp"
#include "metrics/metrics.hpp"
#include "redis/cluster.hpp"

namespace nudge::broker {

namespace asio = boost::asio;
using namespace redis_detail;

namespace {

// The hub's links: TCP connections on the broker's loop.
redis::LinkFactory tcp_links(asio::io_context& io) {
    return [&io](const redis::Endpoint& endpoint, redis::Mode mode, const redis::ConnectionOptions& options) {
        return std::make_shared<redis::LinkOver<asio::ip::tcp::socket>>(
            std::make_shared<redis::Connection>(asio::ip::tcp::socket(io), endpoint, mode, options));
    };
}

}  // namespace

RedisBroker::RedisBroker(hub::Hub& hub, asio::io_context& io, RedisBrokerConfig config, redis::LinkFactory links)
    : hub_(hub),
      config_(std::move(config)),
      publish_script_(std::string(scripts::kPrelude) + std::string(scripts::kPublish)),
      recover_script_(std::string(scripts::kPrelude) + std::string(scripts::kRecover)),
      io_(io),
      make_link_(links ? std::move(links) : tcp_links(io)),
      reconnect_timer_(io_),
      watch_timer_(io_),
      retry_timer_(io_),
      recent_(BoundedMap<std::uint64_t, Seen>::kNoExpiry, kRecentPositions, WhenFull::kEvictOldest,
              [](Removal why, const std::uint64_t&, const Seen&) {
                  metrics::registry().table_removed(metrics::Table::kRedisPositions,
                                                    why == Removal::kEvicted);
              }) {}

RedisBroker::~RedisBroker() { stop(); }

void RedisBroker::start() {
    asio::post(io_, [this] { connect_links(); });
}

void RedisBroker::stop() {
    if (stopped_) return;
    stopped_ = true;
    ++generation_;
    for (auto& node : nodes_) {
        if (node.commands) node.commands->close();
        if (node.pubsub) node.pubsub->close();
    }
    nodes_.clear();
    reconnect_timer_.cancel();
    watch_timer_.cancel();
    retry_timer_.cancel();
}

RedisBroker::Script::Script(std::string source) : text(std::move(source)) {
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    for (const unsigned char byte : digest) sha += fmt::format("{:02x}", byte);
}

void RedisBroker::run_script(const Script& script, std::vector<std::string> args,
                             std::function<void(redis::Reply)> done) {
    // EVALSHA: Redis keeps each script compiled; the text goes over the wire only when its
    // cache does not have it (NOSCRIPT: a restarted or flushed Redis).
    auto shared = std::make_shared<std::vector<std::string>>(std::move(args));
    std::vector<std::string_view> views{"EVALSHA", script.sha};
    views.insert(views.end(), shared->begin(), shared->end());
    const std::uint64_t generation = generation_;
    ordering_node().commands->command(views, [this, &script, shared, generation,
                                              done = std::move(done)](redis::Reply reply) mutable {
        if (!reply || reply->type != REDIS_REPLY_ERROR || !redis::as_view(*reply).starts_with("NOSCRIPT") ||
            generation != generation_) {
            done(std::move(reply));
            return;
        }
        std::vector<std::string_view> again{"EVAL", script.text};
        again.insert(again.end(), shared->begin(), shared->end());
        ordering_node().commands->command(again, std::move(done));
    });
}

void RedisBroker::publish(hub::EmitBatch batch, std::function<void(PublishOutcome)> done) {
    asio::post(io_, [this, batch = std::move(batch), done = std::move(done)]() mutable {
        if (!connected_.load(std::memory_order_relaxed)) {
            done(PublishOutcome{PublishResult::kUnavailable, {}, {}});
            return;
        }
        if (commands_in_flight() >= config_.max_commands_in_flight) {
            metrics::registry().broker_overloaded.add(1);
            done(PublishOutcome{PublishResult::kOverloaded, {}, {}});
            return;
        }
        const HistoryConfig& history = config_.history;
        std::vector<std::string> args;
        args.reserve(10 + batch.size() * 4);
        args.emplace_back("1");
        args.emplace_back(kOrderingKey);
        args.push_back(random_epoch());
        args.push_back(std::to_string(config_.recovery ? history.max_per_room : 0));
        args.push_back(std::to_string(history.tombstone_ttl.count()));
        args.push_back(std::to_string(config_.idempotency_window.count()));
        args.emplace_back(cluster_ ? "0" : "1");
        args.push_back(std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(history.tombstone_ttl).count() + 60));
        args.push_back(std::to_string(batch.size()));
        std::vector<std::string> bodies;
        bodies.reserve(batch.size());
        for (const auto& emit : batch) {
            args.push_back(emit.id);
            bodies.push_back(encode_event_body(emit));
            args.push_back(bodies.back());
            args.push_back(std::to_string(emit.rooms.size()));
            for (const auto& room : emit.rooms) args.push_back(room);
        }
        run_script(publish_script_, std::move(args), [this, batch = std::move(batch), bodies = std::move(bodies),
                                                      done = std::move(done)](redis::Reply reply) mutable {
            PublishOutcome outcome;
            if (redis::is_error(reply) || reply->type != REDIS_REPLY_ARRAY ||
                reply->elements != 2 + 2 * batch.size()) {
                if (reply) spdlog::warn("broker redis: publish failed: {}", redis::as_view(*reply));
                outcome.result = PublishResult::kUnavailable;
                done(std::move(outcome));
                return;
            }
            outcome.epoch = std::string(element(*reply, 0));
            const std::uint64_t ms = integer(reply->element[1]);
            std::int64_t duplicates = 0;
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const std::uint64_t seq = integer(reply->element[2 + 2 * i]);
                const bool duplicate = integer(reply->element[3 + 2 * i]) != 0;
                outcome.events.push_back(Published{seq, duplicate});
                duplicates += duplicate ? 1 : 0;
            }
            if (duplicates > 0) metrics::registry().duplicate_emits.add(duplicates);
            if (!cluster_ || nodes_.empty()) {
                done(std::move(outcome));  // the script published on the one node
                return;
            }
            spublish(batch, bodies, ms, std::move(outcome), std::move(done));
        });
    });
}

void RedisBroker::spublish(const hub::EmitBatch& batch, const std::vector<std::string>& bodies, std::uint64_t ms,
                           PublishOutcome outcome, std::function<void(PublishOutcome)> done) {
    // Cluster: the script could not publish on other nodes' slots, so each room's channel gets
    // an SPUBLISH on its slot owner, and the publisher is answered once every one is confirmed:
    // a 202 means the event reached Redis' pub/sub. A lost SPUBLISH answers 503 and the publisher
    // retries. The retry is a duplicate whose first SPUBLISH may never have gone out (the script
    // ran, its reply was lost with the link), so duplicates are published again, under their
    // first position: hubs that did receive it drop the copy (recent_, by position).
    struct Pending {
        PublishOutcome outcome;
        std::function<void(PublishOutcome)> done;
        std::size_t left = 0;
        bool failed = false;
    };
    auto pending = std::make_shared<Pending>(Pending{std::move(outcome), std::move(done)});
    const std::uint64_t generation = generation_;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const std::string message = fmt::format("{} {} {} {}", pending->outcome.epoch,
                                                pending->outcome.events[i].seq, ms, bodies[i]);
        for (const auto& room : batch[i].rooms) {
            const std::string channel = room_channel(room);
            ++pending->left;
            node_for_channel(channel).commands->command(
                {"SPUBLISH", channel, message}, [this, pending, generation](redis::Reply r) {
                    if (!r || r->type == REDIS_REPLY_ERROR) {
                        pending->failed = true;
                        // MOVED: the slot map changed; reload it (every hub's rooms resync when
                        // their own subscriptions are moved).
                        if (r) on_link_lost(generation, fmt::format("SPUBLISH: {}", redis::as_view(*r)));
                    }
                    if (--pending->left > 0) return;
                    if (pending->failed) {
                        pending->outcome = PublishOutcome{PublishResult::kUnavailable, {}, {}};
                    }
                    pending->done(std::move(pending->outcome));
                });
        }
    }
    if (pending->left == 0) pending->done(std::move(pending->outcome));  // no room: nothing to wait for
}

void RedisBroker::apply(hub::SharedRoomOp op, std::function<void(PublishResult)> done) {
    asio::post(io_, [this, op = std::move(op), done = std::move(done)] {
        if (!connected_.load(std::memory_order_relaxed)) {
            done(PublishResult::kUnavailable);
            return;
        }
        if (commands_in_flight() >= config_.max_commands_in_flight) {
            metrics::registry().broker_overloaded.add(1);
            done(PublishResult::kOverloaded);
            return;
        }
        // Every hub, this one included, applies it when it arrives on nudge:ops.
        nodes_.front().commands->command({"PUBLISH", kOpsChannel, encode_room_op(*op)},
                                         [done](redis::Reply reply) {
                                             done(redis::is_error(reply) ? PublishResult::kUnavailable
                                                                         : PublishResult::kAccepted);
                                         });
    });
}

}  // namespace nudge::broker
