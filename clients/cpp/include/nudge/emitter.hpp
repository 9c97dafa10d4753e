// nudge::Emitter: publishes events to a nudge hub from a C++ backend through the hub's HTTP
// API (POST /api/v1/emit), synchronously; and changes which rooms connected sockets are in
// (POST /api/v1/rooms/{join,leave,disconnect}).
//
//   nudge::EmitterOptions options;
//   options.url = "http://127.0.0.1:8080";
//   options.api_key = key;
//   auto emitter = nudge::Emitter::create(std::move(options));  // fails only on bad options
//   auto sent = emitter->emit_event("123", "balance_updated", boost::json::object{{"x", 1}});
//   if (!sent) log(sent.error().describe());
//
// Errors are values: every call returns tl::expected<Accepted, EmitError>, and nothing is
// thrown for a bad argument, the network or the hub's answer (only std::bad_alloc can escape).
// Nothing is dropped silently: a call succeeds only when the hub answered that it took every
// event; otherwise the EmitError says what failed (nudge/emit_error.hpp).
//
// Connection: one keep-alive HTTP/1.1 connection, opened on first use. When the hub has closed
// it while idle (--http-idle-timeout), the request goes out at once on a fresh connection;
// that is not counted as a retry.
// Retries: connection failures, timeouts and 5xx answers are retried after waits that start at
// the hub's Retry-After (else `backoff`) and double, each capped at max_backoff, jittered by
// ±20 % and never under the Retry-After (itself capped at max_backoff); until retry_budget has
// passed since the first attempt (the last wait is shortened to end with it), and at most
// max_retries times when that is set. With the defaults that rides out a hub whose Redis
// broker is down for ~30 s (it answers 503 "broker_unavailable" with Retry-After: 1 meanwhile:
// waits of about 1, 2, 4, 8, 8, 7 s). 4xx answers are never retried. A call therefore blocks
// for at most about retry_budget + timeout.
//
// Thread-safety: an Emitter is not thread-safe (it owns one connection); give each thread its
// own, or guard one with a mutex. Movable, not copyable; a moved-from Emitter may only be
// assigned to or destroyed.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "nudge/emit_error.hpp"

namespace nudge {

struct EmitterOptions {
    // http://host[:port][/path-prefix]; the port defaults to 80, the prefix to none (a prefix
    // lets the hub sit behind a reverse proxy). https is not supported.
    std::string url = "http://127.0.0.1:8080";
    std::string api_key;                          // the hub's --api-key; required
    std::chrono::milliseconds timeout{5000};      // per attempt: resolve, connect, send, answer
    // Retry until this long after the first attempt; zero: never retry.
    std::chrono::milliseconds retry_budget{30000};
    // If set, also at most this many retries (0: one attempt); unset, the budget alone decides.
    std::optional<unsigned> max_retries;
    std::chrono::milliseconds backoff{500};       // first wait when the hub sent no Retry-After
    std::chrono::milliseconds max_backoff{8000};  // cap on every wait (before jitter)
    std::size_t max_batch = 1000;                 // events per request: the hub's --max-batch
    std::string user_room = "user_{id}";          // the hub's --user-room, for emit_event()
    // How to wait between retries; empty means std::this_thread::sleep_for. Tests record the
    // waits here instead of sleeping.
    std::function<void(std::chrono::milliseconds)> sleep;
    // Called before each wait between attempts with the failure about to be retried (url and
    // attempts set) and how much of the retry budget is left, so a caller can say at once
    // that the hub is not answering instead of blocking silently. Empty: nothing is called.
    std::function<void(const EmitError&, std::chrono::milliseconds budget_left)> on_retry;
    // The clock the retry budget is measured on; empty means std::chrono::steady_clock::now.
    // Tests pass one that their `sleep` moves on.
    std::function<std::chrono::steady_clock::time_point()> now;
    // The factor each wait is multiplied by; empty means a random one in [0.8, 1.2].
    std::function<double()> jitter;
    // Give every event without an id a random one, so a retry of a request the hub had taken
    // is accepted but not delivered again (the hub's --idempotency-window).
    bool idempotent = true;
};

// The hub's documented maximum spread window (ms).
inline constexpr std::uint32_t kMaxSpreadMs = 60000;

// One event: `name` is sent to every client in any of `rooms` and in none of `except`, with
// `data` (any JSON) as its argument; without data the clients' handler gets no argument.
struct Event {
    std::vector<std::string> rooms;
    std::string name;
    std::optional<boost::json::value> data;
    std::vector<std::string> except;
    std::string id = {};  // idempotency key; empty: a random one when options.idempotent
    // The event's position in the backend's database, so a client's refetch is never older
    // than the event: a Postgres LSN ("0/16B3748") or decimal digits (at most 2^64 - 1, e.g.
    // std::to_string(n)). Empty: none. Anything else is kInvalidArgument naming `version`.
    std::string version = {};
    // Clients spread their refetches over this many ms (0 to kMaxSpreadMs); unset: none.
    std::optional<std::uint32_t> spread_ms = {};
};

struct Accepted {
    std::size_t events = 0;  // as counted by the hub
};

using EmitResult = tl::expected<Accepted, EmitError>;

// Parses `text` as JSON, for data given as a string. kInvalidArgument naming the parse error
// when it is not exactly one JSON value.
[[nodiscard]] tl::expected<boost::json::value, EmitError> parse_json(std::string_view text);

class Emitter {
  public:
    // kInvalidArgument when the URL does not parse, the API key is empty or max_batch is 0.
    // Does not connect: the first emit does.
    [[nodiscard]] static tl::expected<Emitter, EmitError> create(EmitterOptions options);

    // One event with every field (version, spread, id...).
    [[nodiscard]] EmitResult emit(const Event& event);
    // One event to `rooms`.
    [[nodiscard]] EmitResult emit(const std::vector<std::string>& rooms, std::string_view event,
                                  std::optional<boost::json::value> data = std::nullopt,
                                  const std::vector<std::string>& except = {});
    // The same with data as JSON text, parsed first (kInvalidArgument when it is not JSON).
    [[nodiscard]] EmitResult emit_json(const std::vector<std::string>& rooms,
                                       std::string_view event, std::string_view data_json,
                                       const std::vector<std::string>& except = {});
    // One event to the user's own room (options.user_room with {id} replaced by user_id).
    [[nodiscard]] EmitResult emit_event(std::string_view user_id, std::string_view event,
                                        std::optional<boost::json::value> data = std::nullopt);
    // Many events, max_batch per request, in order. On failure, error().accepted says how
    // many of the first events went through. An empty list sends nothing.
    [[nodiscard]] EmitResult emit_batch(const std::vector<Event>& events);

    // Membership (POST /api/v1/rooms/...), Socket.IO's io.in(rooms).socketsJoin(join) etc.:
    // every socket in any of `rooms` and in none of `except`, on every hub, joins or leaves
    // the rooms given, or is disconnected (disconnect_sockets({emitter.room_for(id)}) logs a
    // user out everywhere). Success is Accepted{0}: the hub took the request, and an event
    // emitted afterwards reaches the sockets a join added. A socket that reconnects loses
    // API-granted rooms unless its token grants them or the hub runs --granted-rooms-ttl.
    [[nodiscard]] EmitResult sockets_join(const std::vector<std::string>& rooms,
                                          const std::vector<std::string>& join,
                                          const std::vector<std::string>& except = {});
    [[nodiscard]] EmitResult sockets_leave(const std::vector<std::string>& rooms,
                                           const std::vector<std::string>& leave,
                                           const std::vector<std::string>& except = {});
    [[nodiscard]] EmitResult disconnect_sockets(const std::vector<std::string>& rooms,
                                                const std::vector<std::string>& except = {});
    // The room of every socket of `user_id` (options.user_room with {id} replaced).
    [[nodiscard]] std::string room_for(std::string_view user_id) const;

    Emitter(Emitter&&) noexcept;
    Emitter& operator=(Emitter&&) noexcept;
    Emitter(const Emitter&) = delete;
    Emitter& operator=(const Emitter&) = delete;
    ~Emitter();

  private:
    struct Impl;
    explicit Emitter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace nudge
