#include "scripted_hub.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace nudge::fakes {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

}  // namespace

ScriptedHub::ScriptedHub(std::vector<Step> script)
    : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      script_(script.begin(), script.end()) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
}

ScriptedHub::~ScriptedHub() {
    io_.stop();
    thread_.join();
}

std::string ScriptedHub::url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
}

std::vector<Received> ScriptedHub::requests() const {
    const std::lock_guard lock(mutex_);
    return received_;
}

std::size_t ScriptedHub::connections() const {
    const std::lock_guard lock(mutex_);
    return connections_;
}

asio::awaitable<void> ScriptedHub::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
        if (ec) co_return;
        std::size_t connection = 0;
        {
            const std::lock_guard lock(mutex_);
            connection = ++connections_;
        }
        asio::co_spawn(io_, serve(std::move(socket), connection), asio::detached);
    }
}

asio::awaitable<void> ScriptedHub::serve(tcp::socket socket, std::size_t connection) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> request;
        auto [read_error, read_bytes] =
            co_await http::async_read(socket, buffer, request, kNoThrow);
        if (read_error) co_return;

        Step step = Step::error(500, "script_exhausted", "the test did not expect this request");
        {
            const std::lock_guard lock(mutex_);
            received_.push_back(
                Received{connection, std::string(request.method_string()),
                         std::string(request.target()), std::string(request[http::field::host]),
                         std::string(request[http::field::authorization]),
                         std::string(request[http::field::content_type]), request.body()});
            if (!script_.empty()) {
                step = std::move(script_.front());
                script_.pop_front();
            }
        }
        if (step.action == Step::Action::kCloseWithoutAnswer) co_return;
        if (step.action == Step::Action::kStall) {
            // Hold the connection until the client gives up and closes it.
            char byte = 0;
            co_await socket.async_read_some(asio::buffer(&byte, 1), kNoThrow);
            co_return;
        }

        http::response<http::string_body> response{static_cast<http::status>(step.status), 11};
        response.set(http::field::content_type, "application/json");
        if (!step.retry_after.empty()) response.set(http::field::retry_after, step.retry_after);
        response.body() = std::move(step.body);
        response.keep_alive(request.keep_alive());
        response.prepare_payload();
        auto [write_error, written] = co_await http::async_write(socket, response, kNoThrow);
        if (write_error || step.action == Step::Action::kAnswerThenClose || !request.keep_alive()) {
            co_return;
        }
    }
}

std::string unused_url() {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    acceptor.close();
    return "http://127.0.0.1:" + std::to_string(port);
}

}  // namespace nudge::fakes
