// The production instantiation: HTTP connections over TCP sockets.
#include "net/http_connection_impl.hpp"
#include "net/http_engine_io_impl.hpp"

namespace nudge::net {

template class BasicHttpConnection<TcpHttpStream>;

}  // namespace nudge::net
