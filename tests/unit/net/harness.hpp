// Harness: a real Worker, Hub shard and ServerContext around WsConnections that run over
// TestStreams, driven by polling the worker's io_context (no thread, no socket, no clock but
// the one the test passes to tick()).
#pragma once

#include <openssl/hmac.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "../ws/client_frames.hpp"
#include "auth/jwt_verifier.hpp"
#include "common/base64.hpp"
#include "hub/hub.hpp"
#include "net/server_context.hpp"
#include "net/worker.hpp"
#include "net/ws_connection_impl.hpp"
#include "test_stream.hpp"

namespace nudge::net::test {

inline constexpr std::string_view kSecret = "net-test-secret";

inline std::string hs256(std::string_view payload_json) {
    const std::string signing_input =
        base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(payload_json);
    unsigned char mac[32];
    unsigned int size = 0;
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &size);
    return signing_input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(mac), size));
}

// A client's text message, as a masked frame.
inline std::string client_text(std::string_view payload) {
    return ws::test::masked_frame(ws::test::kFin | ws::test::op(ws::Opcode::kText), payload);
}
// The CONNECT of a WebSocket client with these token claims (user 1 in "all" by default).
inline std::string connect_frame(std::string_view claims = R"({"sub":"1","rooms":["all"]})") {
    return client_text(std::string(R"(40{"token":")") + hs256(claims) + "\"}");
}

using TestConnection = WsConnection<TestStream>;

struct Harness {
    explicit Harness(Limits limits = {}, session::Config session_config = {}) {
        auth::JwtConfig jwt;
        jwt.secret = std::string(kSecret);
        verifier = std::make_unique<auth::JwtVerifier>(*auth::JwtVerifier::create(jwt));
        context.session = session::Context{session_config, verifier.get()};
        context.limits = limits;
        context.admission.configure(limits.admission);
        worker = std::make_unique<Worker>(0, context);
        std::vector<hub::Hub::ShardHooks> hooks;
        hooks.push_back(hub::Hub::ShardHooks{
            [this](hub::Hub::Task task) { worker->post_shard_task(std::move(task)); },
            [this] { worker->flush_pending(); }});
        hub = std::make_unique<hub::Hub>(std::move(hooks));
        context.hub = hub.get();
    }

    // A client whose upgrade was accepted: returns its stream state; `connection` is valid
    // until the worker reaps it.
    std::shared_ptr<StreamState> connect(TestConnection** connection = nullptr,
                                         std::string_view early = {}) {
        auto state = std::make_shared<StreamState>(worker->io());
        TestConnection& c = TestConnection::start(TestStream(state), *worker, "ACCEPT", early);
        if (connection != nullptr) *connection = &c;
        poll();
        return state;
    }

    void poll() {
        worker->io().restart();
        worker->io().poll();
    }
    void tick(session::Protocol::Clock::time_point now) {
        worker->tick_all(now);
        poll();
    }

    // Publishes through the hub as the publish API would, and runs the fan-out.
    void emit(std::string room, std::string event, std::string data_json = {}) {
        auto batch = std::make_shared<hub::EmitBatch>();
        batch->push_back(hub::Emit{{std::move(room)}, {}, std::move(event), std::move(data_json), {}, 0, {}, {}, 0});
        (void)hub->deliver(batch);
        poll();
    }

    std::unique_ptr<auth::JwtVerifier> verifier;
    ServerContext context;
    std::unique_ptr<Worker> worker;
    std::unique_ptr<hub::Hub> hub;
};

}  // namespace nudge::net::test
