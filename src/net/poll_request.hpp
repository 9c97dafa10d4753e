// PollRequest: what a PollingSession needs of the HTTP request that polls it — HttpConnection
// in production, a recorder in the unit tests (the polling session's failure seam).
#pragma once

#include <string>

#include "eio/packet.hpp"

namespace nudge::net {

class PollingSession;

class PollRequest {
public:
    PollRequest() = default;
    PollRequest(const PollRequest&) = delete;
    PollRequest& operator=(const PollRequest&) = delete;
    virtual ~PollRequest() = default;

    // Keep this GET open until it is answered; tell `session` (on_poll_aborted) if the client
    // goes away meanwhile.
    virtual void hold(PollingSession& session) = 0;
    // Answers the request: 200 with an Engine.IO payload.
    virtual void answer_poll(std::string payload) = 0;
    // Answers the request with Engine.IO's error codes (400, or 403).
    virtual void answer_error(eio::HandshakeError error) = 0;
};

}  // namespace nudge::net
