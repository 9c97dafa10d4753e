#include "net/subscribe_hook.hpp"
#include "metrics/metrics.hpp"

#include "common/authority.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <memory>
#include <utility>

namespace nudge::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Result<HookTarget, std::string> resolve_http_url(std::string_view flag, std::string_view url) {
    constexpr std::string_view kScheme = "http://";
    const std::string name(flag);
    if (url.starts_with("https://")) {
        return fail(name +
                    ": https is not supported; use an http:// URL (a local endpoint or a "
                    "TLS-terminating sidecar)");
    }
    if (!url.starts_with(kScheme)) {
        return fail(name + ": expected http://host[:port]/path, got \"" + std::string(url) + "\"");
    }
    std::string_view rest = url.substr(kScheme.size());
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    HookTarget target;
    target.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    const auto host_port = split_authority(authority);
    if (!host_port) return fail(name + ": " + host_port.error() + " in \"" + std::string(url) + "\"");
    const std::string_view host = host_port->host;
    const std::string port = std::to_string(host_port->port.value_or(80));
    target.host = std::string(authority);
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code resolve_ec;
    const auto results = resolver.resolve(std::string(host), std::string(port), resolve_ec);
    if (resolve_ec || results.empty()) {
        return fail(name + ": cannot resolve " + std::string(host) + ": " + resolve_ec.message());
    }
    for (const auto& entry : results) target.endpoints.push_back(entry.endpoint());
    return target;
}

// One request: connect, write, read, all under one deadline (beast::tcp_stream's timer).
struct SubscribeHook::Call : std::enable_shared_from_this<SubscribeHook::Call> {
    Call(asio::io_context& io, SubscribeHook& hook_in, std::string user_in, std::string key_in,
         Callback done_in)
        : stream(io),
          hook(hook_in),
          user(std::move(user_in)),
          key(std::move(key_in)),
          done(std::move(done_in)) {}

    void start(const HookTarget& target, std::string body, std::chrono::milliseconds timeout) {
        request.method(http::verb::post);
        request.target(target.target);
        request.version(11);
        request.set(http::field::host, target.host);
        request.set(http::field::user_agent, "nudged");
        request.set(http::field::content_type, "application/json");
        request.keep_alive(false);
        request.body() = std::move(body);
        request.prepare_payload();
        parser.body_limit(std::uint64_t{64} * 1024);
        stream.expires_after(timeout);
        stream.async_connect(target.endpoints, [self = shared_from_this()](
                                                   beast::error_code ec, const tcp::endpoint&) {
            if (ec) return self->end(ec);
            http::async_write(self->stream, self->request,
                              [self](beast::error_code write_ec, std::size_t) {
                                  if (write_ec) return self->end(write_ec);
                                  http::async_read(self->stream, self->buffer, self->parser,
                                                   [self](beast::error_code read_ec, std::size_t) {
                                                       self->end(read_ec);
                                                   });
                              });
        });
    }

    void end(beast::error_code ec) {
        Verdict verdict = Verdict::kError;
        if (ec == beast::error::timeout) {
            verdict = Verdict::kTimeout;
        } else if (!ec) {
            const unsigned status = parser.get().result_int();
            if (status == 200) {
                verdict = Verdict::kAllowed;
            } else if (status >= 400 && status < 500) {
                verdict = Verdict::kRefused;
            }
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
        hook.finish(*this, verdict);
    }

    beast::tcp_stream stream;
    SubscribeHook& hook;
    std::string user;
    std::string key;
    Callback done;
    http::request<http::string_body> request;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
};

SubscribeHook::SubscribeHook(asio::io_context& io, SubscribeHookConfig config, HookTarget target)
    : io_(io),
      config_(std::move(config)),
      target_(std::move(target)),
      slots_({config_.max_pending, config_.max_per_user, config_.max_queued}),
      allowed_(config_.cache_ttl, config_.max_cache_entries, WhenFull::kEvictOldest,
               [](Removal why, const std::string&, const Allowed&) {
                   metrics::registry().table_removed(metrics::Table::kSubscribeHook,
                                                     why == Removal::kEvicted);
               }) {}

namespace {

std::string cache_key(std::string_view user, std::string_view room) {
    std::string key;
    key.reserve(user.size() + 1 + room.size());
    key.append(user).push_back('\0');  // neither a user id nor a room decides where this is
    key.append(room);
    return key;
}

}  // namespace

bool SubscribeHook::cached(std::string_view user, std::string_view room, Clock::time_point now) {
    if (config_.cache_ttl.count() == 0 || allowed_.empty()) return false;
    return allowed_.find(cache_key(user, room), now) != nullptr;
}

void SubscribeHook::ask(std::string_view user, std::string_view room, Callback done) {
    boost::json::object body;
    body["user"] = user;
    body["room"] = room;
    auto call = std::make_shared<Call>(io_, *this, std::string(user), cache_key(user, room),
                                       std::move(done));
    const auto admitted = slots_.admit(
        user, [this, call, json = boost::json::serialize(body)]() mutable {
            call->start(target_, std::move(json), config_.timeout);
        });
    if (admitted == HookSlots::Admit::kRefusedUser || admitted == HookSlots::Admit::kRefusedFull) {
        asio::post(io_, [call] { call->done(Verdict::kBusy); });
    }
}

void SubscribeHook::finish(const Call& call, Verdict verdict) {
    const std::string& key = call.key;
    const Callback& done = call.done;
    slots_.release(call.user);
    if (verdict == Verdict::kAllowed && config_.cache_ttl.count() > 0) {
        allowed_.insert(key, Allowed{}, Clock::now());
    }
    done(verdict);
}

}  // namespace nudge::net
