// HttpConnection: an accepted TCP connection until it is either a WebSocket (handed to a new
// WsConnection) or done. Serves the HTTP API with keep-alive through api::Router, answers
// Engine.IO handshake errors, enforces the header and body limits (431/413) and an idle
// deadline. Beast does the HTTP/1.1 parsing.
//
// Framing (RFC 9112 §6.1, §6.3): the header is read first and checked before any body byte
// is read. A request with both Transfer-Encoding and Content-Length, or whose final transfer
// coding is not `chunked`, is answered 400 bad_framing and the connection closed: a proxy in
// front might frame it differently (request smuggling). Every other request Beast rejects is
// answered 400 (431/413 for the limits) with a JSON error and closed; only EOF, resets and
// the idle deadline close silently.
//
// Engine.IO on /socket.io/: WebSocket handshakes become a WsConnection; HTTP long-polling
// requests go to their PollingSession (PollingSession's header has the transport's rules).
// A request for a session that lives on another worker moves there with its socket (the
// descriptor and any bytes read past the request), so a session is only touched by its own
// worker. A GET the session holds keeps a read pending: a client that goes away while its
// poll is held closes the session, as in Engine.IO.
//
// A connection accepted by the metrics listener is restricted to the metrics routes.
//
// A template on its stream (`TcpHttpStream` in production, see tcp_http_stream.hpp for what a
// stream must offer): the unit tests run it over an in-memory stream that fails the n-th read
// or write. The member definitions are in http_connection_impl.hpp and http_engine_io_impl.hpp,
// instantiated for TcpHttpStream in http_connection.cpp.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "api/router.hpp"
#include "eio/packet.hpp"
#include "net/poll_request.hpp"
#include "net/tcp_http_stream.hpp"

namespace nudge::net {

class PollingSession;
class Worker;

template <class Stream>
class BasicHttpConnection final : public PollRequest,
                                  public std::enable_shared_from_this<BasicHttpConnection<Stream>> {
public:
    // `ip_key`: the admission slot this connection holds (0: none); given back when it ends,
    // unless it becomes a WebSocket, which takes it over.
    BasicHttpConnection(Stream stream, Worker& worker, std::uint32_t ip_key = 0,
                        api::Routes routes = api::Routes::kAll);
    ~BasicHttpConnection() override;
    BasicHttpConnection(const BasicHttpConnection&) = delete;
    BasicHttpConnection& operator=(const BasicHttpConnection&) = delete;
    void start();

    using Request = boost::beast::http::request<boost::beast::http::string_body>;
    using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

    // A request moved here from another worker after its header was read: go on as if it had
    // been read here (`early_bytes`: what was read past the header).
    void resume(std::unique_ptr<Parser> parser, std::string_view early_bytes);
    // PollRequest, for the PollingSession of the current GET (and the Engine.IO errors).
    void hold(PollingSession& session) override;
    void answer_poll(std::string payload) override;
    void answer_error(eio::HandshakeError error) override;

private:
    using Response = boost::beast::http::response<boost::beast::http::string_body>;

    void read_request();
    // The header is read: check the framing, route an Engine.IO request, read the body.
    // `migrated`: the request came from another worker (its session must be here).
    void on_header(bool migrated);
    // An Engine.IO header naming a sid this worker does not hold: false when the request was
    // moved to the session's worker or answered (see the .cpp).
    [[nodiscard]] bool route_elsewhere(std::string_view sid, bool migrated);
    void read_body();
    void on_read_error(boost::beast::error_code ec);
    void on_request();
    void handle_engine_io(Request& request);
    // The admission slot for a new session (polling) or WebSocket opened on this connection,
    // or nullopt when it was refused (and answered).
    [[nodiscard]] std::optional<std::uint32_t> take_admission();
    void set_cors_origin(const Request& request);
    // A session refused by a limit: the error with Retry-After 1, keep-alive kept.
    void answer_refusal(Response response);
    // The held GET is answered or dropped (the held-GET gauge follows).
    void release_hold() noexcept;
    void serve_session(Request& request, const eio::RequestInfo& info, PollingSession& session);
    void upgrade_to_websocket(const Request& request, PollingSession* session);
    void refuse_websocket_sid(const Request& request);
    // Moves the socket and the current request to worker `owner`.
    void migrate(std::size_t owner);
    void watch_held_poll();
    void add_cors(Response& response) const;
    void send(Response response, bool close_after);
    void linger();
    void linger_read();
    [[nodiscard]] Response make_response(unsigned status, std::string body,
                                         std::string_view content_type) const;
    [[nodiscard]] Response error(unsigned status, std::string code, std::string message) const;

    Stream stream_;
    Worker& worker_;
    api::Routes routes_;
    boost::asio::ip::address address_;  // the peer's, for admission of sessions opened here
    std::string remote_;  // the peer's address, for the API's logs and backoff
    boost::beast::flat_buffer buffer_;
    // On the heap so that a request can move to another worker with its parser mid-message.
    std::unique_ptr<Parser> parser_;
    std::uint32_t ip_key_;
    PollingSession* poll_owner_ = nullptr;  // the session holding this GET, while held
    bool routing_ = false;                  // inside Router::handle (on_request)
    std::string cors_origin_;  // the request's Origin when it is an allowed one
    bool keep_alive_ = true;   // of the current Engine.IO request
    // The connection's admission (slot, connect-rate token) went to a session or WebSocket
    // opened on it: another one opened here is admitted anew.
    bool admission_taken_ = false;
};

using HttpConnection = BasicHttpConnection<TcpHttpStream>;
extern template class BasicHttpConnection<TcpHttpStream>;

}  // namespace nudge::net
