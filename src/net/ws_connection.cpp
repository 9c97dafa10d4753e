// The production instantiation: WebSocket connections over the worker's epoll set.
#include "net/ws_connection_impl.hpp"

namespace nudge::net {

namespace detail {

ws::CloseCode close_code_for(session::CloseReason reason) noexcept {
    using session::CloseReason;
    switch (reason) {
        case CloseReason::kServerShutdown: return ws::CloseCode::kGoingAway;
        case CloseReason::kProtocolError: return ws::CloseCode::kProtocolError;
        case CloseReason::kPayloadTooLarge: return ws::CloseCode::kMessageTooBig;
        case CloseReason::kSlowConsumer:
        case CloseReason::kPartialBudget:
        case CloseReason::kAuthFailures: return ws::CloseCode::kPolicyViolation;
        default: return ws::CloseCode::kNormal;
    }
}

}  // namespace detail

// One gathered write of WsConnection fits one sendmsg of the socket.
static_assert(WsGather::kMaxBuffers <= EpollSocket::kMaxBuffers);

template class WsConnection<EpollSocket>;

}  // namespace nudge::net
