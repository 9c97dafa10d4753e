// Workers and an HTTP client for BasicHttpConnection over HttpTestStream: real Workers, Hub
// shards, router and ServerContext, driven by polling their io_contexts (no thread, no socket),
// and the few helpers a test needs to speak Engine.IO over HTTP to them.
#pragma once

#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/router.hpp"
#include "broker/local_broker.hpp"
#include "harness.hpp"
#include "http_test_stream.hpp"
#include "net/http_connection_impl.hpp"
#include "net/http_engine_io_impl.hpp"

namespace nudge::net::test {

using Clock = session::Protocol::Clock;
using TestHttp = BasicHttpConnection<HttpTestStream>;

// Workers sharing one context, hub and router, driven by polling their io_contexts.
struct Workers {
    // `setup` adjusts the context (limits, a hook) before the workers are made.
    explicit Workers(std::size_t count, const std::function<void(ServerContext&)>& setup = {},
                     session::Config session_config = {}) {
        auth::JwtConfig jwt;
        jwt.secret = std::string(kSecret);
        verifier = std::make_unique<auth::JwtVerifier>(*auth::JwtVerifier::create(jwt));
        context.session = session::Context{session_config, verifier.get()};
        if (setup) setup(context);
        context.admission.configure(context.limits.admission);
        std::vector<hub::Hub::ShardHooks> hooks;
        for (std::size_t i = 0; i < count; ++i) {
            workers.push_back(std::make_unique<Worker>(i, context));
            context.workers.push_back(workers.back().get());
            Worker* w = workers.back().get();
            hooks.push_back(hub::Hub::ShardHooks{
                [w](hub::Hub::Task task) { w->post_shard_task(std::move(task)); },
                [w] { w->flush_pending(); }});
        }
        hub = std::make_unique<hub::Hub>(std::move(hooks));
        context.hub = hub.get();
        broker = std::make_unique<broker::LocalBroker>(*hub);
        router = std::make_unique<api::Router>(api::Config{"api-key-for-tests", 1024 * 1024, {}, {}, false},
                                               *broker, [] { return true; });
        context.router = router.get();
    }

    Worker& at(std::size_t i) { return *workers[i]; }
    void poll() {
        // Until no worker has anything left to run (a hand-off posts from one to another).
        for (bool ran = true; ran;) {
            ran = false;
            for (auto& w : workers) {
                w->io().restart();
                ran = w->io().poll() != 0 || ran;
            }
        }
    }
    // A client's connection accepted by worker `i`; the stream state is the client's side.
    std::shared_ptr<StreamState> connect(std::size_t i) {
        auto state = std::make_shared<StreamState>(at(i).io());
        std::make_shared<TestHttp>(HttpTestStream(state), at(i))->start();
        poll();
        return state;
    }
    void emit(std::string room, std::string event, std::string data_json) {
        auto batch = std::make_shared<hub::EmitBatch>();
        batch->push_back(hub::Emit{{std::move(room)}, {}, std::move(event), std::move(data_json), {}, 0, {}, {}, 0});
        (void)hub->deliver(batch);
        poll();
    }
    // Every session past its ping timeout is closed and everything closed is freed.
    void end_all() {
        for (int round = 0; round < 2; ++round) {
            for (auto& w : workers) w->tick_all(Clock::now() + std::chrono::minutes(1 + round));
            poll();
        }
    }
    [[nodiscard]] std::size_t left() {
        std::size_t n = 0;
        for (auto& w : workers) n += w->connection_count() + w->reap() + w->rooms().room_count();
        return n;
    }

    std::unique_ptr<auth::JwtVerifier> verifier;
    ServerContext context;
    std::vector<std::unique_ptr<Worker>> workers;
    std::unique_ptr<hub::Hub> hub;
    std::unique_ptr<broker::LocalBroker> broker;
    std::unique_ptr<api::Router> router;
};

struct HttpAnswer {
    unsigned status = 0;
    std::string body;
};

// The complete HTTP answers in `bytes` (Content-Length framed, as the hub writes them).
inline std::vector<HttpAnswer> answers(std::string_view bytes) {
    std::vector<HttpAnswer> out;
    while (bytes.starts_with("HTTP/1.1 ")) {
        const auto head_end = bytes.find("\r\n\r\n");
        if (head_end == std::string_view::npos) break;
        const std::string_view head = bytes.substr(0, head_end);
        if (head.substr(9, 3) == "101") break;  // the WebSocket's bytes follow
        std::size_t length = 0;
        if (const auto at = head.find("Content-Length: "); at != std::string_view::npos) {
            length = std::stoul(std::string(head.substr(at + 16, head.find("\r\n", at) - at - 16)));
        }
        if (bytes.size() < head_end + 4 + length) break;
        out.push_back(HttpAnswer{static_cast<unsigned>(std::stoul(std::string(head.substr(9, 3)))),
                                 std::string(bytes.substr(head_end + 4, length))});
        bytes.remove_prefix(head_end + 4 + length);
    }
    return out;
}

inline std::string polling(std::string_view method, std::string_view sid, std::string_view body = {}) {
    std::string target = "/socket.io/?EIO=4&transport=polling";
    if (!sid.empty()) target.append("&sid=").append(sid);
    std::string request = std::string(method) + " " + target + " HTTP/1.1\r\nHost: hub\r\n";
    if (method == "POST") {
        request += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n";
    }
    return request + "\r\n" + std::string(body);
}

inline std::string connect_packet() {
    return std::string(R"(40{"token":")") + hs256(R"({"sub":"1","rooms":["all"]})") + "\"}";
}

// One client's scripted conversation: each step sends, runs the workers and checks the n-th
// answer; a step after a failure is skipped (the hub dropped the connection).
struct Client {
    Workers& w;
    std::shared_ptr<StreamState> s;

    // Sends `request`, returns answer number `index` (0-based) when it arrived.
    std::optional<HttpAnswer> ask(const std::string& request, std::size_t index) {
        if (s->closed) return std::nullopt;
        s->send(request);
        w.poll();
        auto all = answers(s->written);
        if (all.size() <= index) return std::nullopt;
        return all[index];
    }
    // The handshake: the sid of a new session.
    std::optional<std::string> open() {
        const auto answer = ask(polling("GET", {}), 0);
        if (!answer || answer->status != 200 || !answer->body.starts_with("0{")) return std::nullopt;
        const auto at = answer->body.find(R"("sid":")") + 7;
        return answer->body.substr(at, answer->body.find('"', at) - at);
    }
    // The peer goes away; its connection must be freed.
    void hang_up() {
        s->peer_closed = true;
        s->notify();
        w.poll();
    }
};

inline std::string upgrade_request(std::string_view sid) {
    std::string target = "/socket.io/?EIO=4&transport=websocket";
    if (!sid.empty()) target.append("&sid=").append(sid);
    return "GET " + target +
           " HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

}  // namespace nudge::net::test
