// The production instantiation: WebSocket connections over the worker's TCP sockets.
#include "net/ws_connection_impl.hpp"

namespace nudge::net {

template class WsConnection<TcpSocket>;

}  // namespace nudge::net
