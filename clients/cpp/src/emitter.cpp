#include "nudge/emitter.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cstdint>
#include <random>
#include <span>
#include <thread>
#include <utility>

#include "backoff.hpp"
#include "connection.hpp"
#include "hub_answer.hpp"
#include "hub_url.hpp"
#include "publish_body.hpp"

namespace nudge {

namespace {

constexpr std::string_view kEmitPath = "/api/v1/emit";
constexpr std::string_view kRoomsPath = "/api/v1/rooms/";

tl::unexpected<EmitError> invalid(std::string message) {
    EmitError error;
    error.kind = ErrorKind::kInvalidArgument;
    error.message = std::move(message);
    return tl::make_unexpected(std::move(error));
}

EmitError transport_failure(const detail::TransportError& failure,
                            std::chrono::milliseconds timeout) {
    EmitError error;
    error.kind = failure.timed_out ? ErrorKind::kTimeout : ErrorKind::kUnreachable;
    error.system_error = failure.error;
    error.message = failure.timed_out ? std::string(failure.step) + ": nothing within " +
                                            std::to_string(timeout.count()) + " ms"
                                      : std::string(failure.step) + ": " + failure.error.message();
    return error;
}

std::string user_room(std::string_view pattern, std::string_view user_id) {
    std::string room(pattern);
    if (const auto at = room.find("{id}"); at != std::string::npos) room.replace(at, 4, user_id);
    return room;
}

}  // namespace

tl::expected<boost::json::value, EmitError> parse_json(std::string_view text) {
    std::error_code ec;
    boost::json::value value =
        boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
    if (ec) {
        constexpr std::size_t kQuoted = 200;
        const std::string quoted =
            text.size() > kQuoted ? std::string(text.substr(0, kQuoted)) + "…" : std::string(text);
        return invalid("data is not valid JSON (" + ec.message() + "): " + quoted);
    }
    return value;
}

struct Emitter::Impl {
    Impl(EmitterOptions options_in, detail::HubUrl url)
        : options(std::move(options_in)), connection(std::move(url), options.timeout) {}

    // One request with its retries. `accepted_before` only annotates a failure.
    EmitResult send(std::span<const Event> events, std::size_t accepted_before) {
        // Ids are fixed before the first attempt: every retry carries the same ones.
        std::vector<std::string> ids;
        if (options.idempotent) {
            ids.reserve(events.size());
            for (const Event& event : events) ids.push_back(event.id.empty() ? random_id() : std::string());
        }
        return post(kEmitPath, detail::publish_body(events, ids), events.size(), accepted_before);
    }

    // A membership request: `kind` is join, leave or disconnect.
    EmitResult room_op(std::string_view kind, const std::vector<std::string>& rooms,
                       const std::vector<std::string>& except,
                       const std::vector<std::string>& targets) {
        if (rooms.empty()) return invalid(std::string(kind) + ": give at least one room");
        if (kind != "disconnect" && targets.empty()) {
            return invalid(std::string(kind) + ": give at least one room to " + std::string(kind));
        }
        return post(std::string(kRoomsPath) + std::string(kind),
                    detail::room_op_body(kind, rooms, except, targets), 0, 0);
    }

    EmitResult post(std::string_view path, const std::string& body, std::size_t events,
                    std::size_t accepted_before) {
        const detail::Backoff backoff{options.backoff, options.max_backoff};
        const auto started = now();
        for (unsigned attempt = 1;; ++attempt) {
            auto answer = connection.post(path, body, options.api_key);
            EmitResult result =
                answer ? detail::interpret(*answer, events)
                       : tl::make_unexpected(transport_failure(answer.error(), options.timeout));
            if (result) return result;
            EmitError& error = result.error();
            const auto left =
                options.retry_budget -
                std::chrono::duration_cast<std::chrono::milliseconds>(now() - started);
            const bool retries_spent = options.max_retries && attempt > *options.max_retries;
            const bool budget_spent = left <= std::chrono::milliseconds::zero();
            if (!is_transient(error.kind) || retries_spent || budget_spent) {
                error.url = options.url;
                error.attempts = attempt;
                error.accepted = accepted_before;
                if (is_transient(error.kind) && !retries_spent) {
                    error.retry_budget_spent = options.retry_budget;
                }
                return result;
            }
            std::optional<std::chrono::milliseconds> retry_after;
            if (answer) {
                if (auto seconds = detail::parse_retry_after(answer->retry_after)) {
                    retry_after = *seconds;
                }
            }
            if (options.on_retry) {
                error.url = options.url;
                error.attempts = attempt;
                options.on_retry(error, left);
            }
            wait(std::min(detail::retry_delay(backoff, attempt, retry_after, jitter()), left));
        }
    }

    // 128 random bits as 32 hex digits: unique, not secret (an id only names an event).
    std::string random_id() {
        static constexpr std::string_view kHex = "0123456789abcdef";
        std::string id;
        id.reserve(32);
        for (int half = 0; half < 2; ++half) {
            std::uint64_t bits = random();
            for (int i = 0; i < 16; ++i, bits >>= 4) id.push_back(kHex[bits & 0xF]);
        }
        return id;
    }

    std::chrono::steady_clock::time_point now() const {
        return options.now ? options.now() : std::chrono::steady_clock::now();
    }

    // Many emitters retrying after the same outage must not do so in lockstep.
    double jitter() {
        if (options.jitter) return options.jitter();
        return std::uniform_real_distribution<double>(0.8, 1.2)(random);
    }

    void wait(std::chrono::milliseconds delay) const {
        if (options.sleep) {
            options.sleep(delay);
        } else {
            std::this_thread::sleep_for(delay);
        }
    }

    EmitterOptions options;
    detail::Connection connection;
    std::mt19937_64 random{std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32)};
};

tl::expected<Emitter, EmitError> Emitter::create(EmitterOptions options) {
    auto url = detail::parse_hub_url(options.url);
    if (!url) return invalid(std::move(url.error()));
    if (options.api_key.empty()) return invalid("the API key is empty (the hub's --api-key)");
    // It goes into a header line as it is: a line break would end the header there.
    if (std::any_of(options.api_key.begin(), options.api_key.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        return invalid("the API key contains a control character (a line break?)");
    }
    if (options.max_batch == 0) return invalid("max_batch must be at least 1");
    if (options.timeout <= std::chrono::milliseconds::zero()) {
        return invalid("timeout must be positive");
    }
    if (options.backoff < std::chrono::milliseconds::zero() ||
        options.max_backoff < std::chrono::milliseconds::zero() ||
        options.retry_budget < std::chrono::milliseconds::zero()) {
        return invalid("backoff, max_backoff and retry_budget must not be negative");
    }
    return Emitter(std::make_unique<Impl>(std::move(options), std::move(*url)));
}

Emitter::Emitter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Emitter::Emitter(Emitter&&) noexcept = default;
Emitter& Emitter::operator=(Emitter&&) noexcept = default;
Emitter::~Emitter() = default;

EmitResult Emitter::emit(const Event& event) {
    if (auto why = detail::event_fields_error(event); !why.empty()) return invalid(std::move(why));
    return impl_->send(std::span(&event, 1), 0);
}

EmitResult Emitter::emit(const std::vector<std::string>& rooms, std::string_view event,
                         std::optional<boost::json::value> data,
                         const std::vector<std::string>& except) {
    const Event one{rooms, std::string(event), std::move(data), except, {}};
    return impl_->send(std::span(&one, 1), 0);
}

EmitResult Emitter::emit_json(const std::vector<std::string>& rooms, std::string_view event,
                              std::string_view data_json, const std::vector<std::string>& except) {
    auto data = parse_json(data_json);
    if (!data) return tl::make_unexpected(std::move(data.error()));
    return emit(rooms, event, std::move(*data), except);
}

EmitResult Emitter::emit_event(std::string_view user_id, std::string_view event,
                               std::optional<boost::json::value> data) {
    return emit({user_room(impl_->options.user_room, user_id)}, event, std::move(data));
}

EmitResult Emitter::sockets_join(const std::vector<std::string>& rooms,
                                 const std::vector<std::string>& join,
                                 const std::vector<std::string>& except) {
    return impl_->room_op("join", rooms, except, join);
}

EmitResult Emitter::sockets_leave(const std::vector<std::string>& rooms,
                                  const std::vector<std::string>& leave,
                                  const std::vector<std::string>& except) {
    return impl_->room_op("leave", rooms, except, leave);
}

EmitResult Emitter::disconnect_sockets(const std::vector<std::string>& rooms,
                                       const std::vector<std::string>& except) {
    return impl_->room_op("disconnect", rooms, except, {});
}

std::string Emitter::room_for(std::string_view user_id) const {
    return user_room(impl_->options.user_room, user_id);
}

EmitResult Emitter::emit_batch(const std::vector<Event>& events) {
    // Checked before the first request, so a bad event sends nothing (as the hub's own check
    // refuses a whole batch); named as the hub names it, `events[2].version …`.
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (auto why = detail::event_fields_error(events[i]); !why.empty()) {
            return invalid("events[" + std::to_string(i) + "]." + why);
        }
    }
    const std::span<const Event> all(events);
    std::size_t accepted = 0;
    while (accepted < all.size()) {
        const std::size_t count = std::min(impl_->options.max_batch, all.size() - accepted);
        auto sent = impl_->send(all.subspan(accepted, count), accepted);
        if (!sent) return sent;
        accepted += sent->events;
    }
    return Accepted{accepted};
}

}  // namespace nudge
