// The production instantiation: WebSocket connections over the worker's epoll set.
#include "net/ws_connection_impl.hpp"

namespace nudge::net {

template class WsConnection<EpollSocket>;

}  // namespace nudge::net
