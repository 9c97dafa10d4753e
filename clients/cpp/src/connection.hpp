// Connection: one keep-alive HTTP/1.1 connection to the hub, used synchronously, every request
// bounded by a deadline.
//
// post() opens the connection when there is none and keeps it open while the hub agrees
// (Connection: keep-alive). When a reused connection turns out to have been closed by the hub
// while idle — the send fails, or the connection ends before the answer's first byte — the
// request is sent once more on a fresh connection, at once. That is the hub's idle timeout
// racing our request, not a failure, so it is not a retry; in the rare case that the hub did
// read the request and then died, the event goes out twice, which for an invalidation costs
// one refetch. Any other failure closes the connection and is returned; the next post()
// reconnects.
//
// Not thread-safe. Resolving and connecting run asynchronously on a private io_context so that
// Beast's tcp_stream deadline applies (its synchronous operations have none). A request and
// its answer then go over the connected socket directly (non-blocking sendmsg and recv, poll
// with the time left as the deadline, Beast's parser for the answer): a sendmsg, a poll and a
// recv per request instead of the io_context's epoll and timer calls around each operation.
#pragma once

#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <string_view>
#include <tl/expected.hpp>

#include "hub_answer.hpp"
#include "hub_url.hpp"

namespace nudge::detail {

struct TransportError {
    std::string_view step;  // "resolve", "connect", "send" or "receive"
    boost::system::error_code error;
    bool timed_out = false;  // the deadline passed during `step`
};

class Connection {
  public:
    Connection(HubUrl url, std::chrono::milliseconds timeout);
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    ~Connection();

    // POST url.prefix + path with a JSON body and "Authorization: Bearer <api_key>".
    [[nodiscard]] tl::expected<HubAnswer, TransportError> post(std::string_view path,
                                                               std::string_view body,
                                                               std::string_view api_key);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace nudge::detail
