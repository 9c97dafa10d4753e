// Google Benchmark suite for the hub's hot paths: what one emit or one connect costs before the
// kernel gets involved. `make bench` runs it (bench/run.mjs) and copies the table into RESULTS.md.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/publish_request.hpp"
#include "auth/jwt_verifier.hpp"
#include "broker/history.hpp"
#include "common/base64.hpp"
#include "hub/encoded_emit.hpp"
#include "hub/room_index.hpp"
#include "net/ws_gather.hpp"
#include "sio/packet.hpp"
#include "ws/frame_writer.hpp"

namespace {

using namespace nudge;

constexpr std::string_view kEventData = R"({"accountId":42,"timestamp":1764057600123})";

// The packet text of one event: Socket.IO EVENT inside an Engine.IO message.
void BM_EncodeEvent(benchmark::State& state) {
    for (auto _ : state) {
        std::string packet = sio::encode_event("/", "balance_updated", kEventData);
        benchmark::DoNotOptimize(packet);
    }
}
BENCHMARK(BM_EncodeEvent);

// What the hub builds once per emit and form (hub::EncodedEmit): the shared packet every
// transport sends as it is (issue 20: no WebSocket frame; the transport frames it).
void BM_EncodeEmitPacket(benchmark::State& state) {
    hub::Emit emit;
    emit.rooms = {"user_123"};
    emit.event = "balance_updated";
    emit.data_json = std::string(kEventData);
    for (auto _ : state) {
        const hub::EncodedEmit encoded(emit, 0);
        benchmark::DoNotOptimize(encoded.packet(hub::Variant::kPlain).get());
    }
}
BENCHMARK(BM_EncodeEmitPacket);

// Header only, as the WebSocket transport writes it in front of each packet at write time.
void BM_WriteFrameHeader(benchmark::State& state) {
    std::array<char, ws::kMaxHeaderSize> header{};
    const auto size = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        benchmark::DoNotOptimize(ws::write_header(ws::Opcode::kText, size, header));
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_WriteFrameHeader)->Arg(60)->Arg(1000)->Arg(70000);

// One connection's gathered write of `range(0)` packets (net/ws_gather.hpp) without the
// syscall, as WsConnection::write_pending makes it in its worker's gather: a header and two
// buffers per packet, then where the write ended. Per item: what framing at write time costs
// each delivery.
void BM_GatherFrames(benchmark::State& state) {
    const std::string packet = sio::encode_event("/", "balance_updated", kEventData);
    const auto count = static_cast<std::size_t>(state.range(0));
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) total += ws::header_size(packet.size()) + packet.size();
    net::WsGather gather;
    for (auto _ : state) {
        gather.clear();
        for (std::size_t i = 0; i < count; ++i) gather.add(packet, true);
        benchmark::DoNotOptimize(gather.buffers().data());
        benchmark::DoNotOptimize(gather.progress(total));
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_GatherFrames)->Arg(1)->Arg(64);

void BM_ParsePublishSingle(benchmark::State& state) {
    const std::string body =
        R"({"room":"user_123","event":"balance_updated","data":{"accountId":42}})";
    const api::PublishLimits limits;
    for (auto _ : state) {
        auto batch = api::parse_publish(body, limits);
        benchmark::DoNotOptimize(batch);
    }
}
BENCHMARK(BM_ParsePublishSingle);

void BM_ParsePublishBatch100(benchmark::State& state) {
    std::string body = R"({"events":[)";
    for (int i = 0; i < 100; ++i) {
        if (i > 0) body += ',';
        body += R"({"room":"user_)" + std::to_string(i) + R"(","event":"balance_updated","data":{"i":)" +
                std::to_string(i) + "}}";
    }
    body += "]}";
    const api::PublishLimits limits;
    for (auto _ : state) {
        auto batch = api::parse_publish(body, limits);
        benchmark::DoNotOptimize(batch);
    }
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ParsePublishBatch100);

// --- JWT verification, once per connect -------------------------------------------------------

std::string b64url(std::string_view bytes) { return nudge::base64url_encode(bytes); }

std::string signing_input(std::string_view alg) {
    const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(1))
                         .count();
    return b64url(R"({"alg":")" + std::string(alg) + R"(","typ":"JWT"})") + '.' +
           b64url(R"({"sub":"123","rooms":["all"],"exp":)" + std::to_string(exp) + "}");
}

std::string sign(EVP_PKEY* key, std::string_view input) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::size_t size = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    if (EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) != 1) {
        return {};
    }
    std::string signature(size, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                       input.size()) != 1) {
        return {};
    }
    signature.resize(size);
    return signature;
}

void run_verify(benchmark::State& state, auth::JwtConfig config, const std::string& token) {
    auto verifier = auth::JwtVerifier::create(std::move(config));
    if (!verifier) {
        state.SkipWithError(verifier.error().c_str());
        return;
    }
    const auto now = std::chrono::system_clock::now();
    if (!verifier->verify(token, now)) {
        state.SkipWithError("token did not verify");
        return;
    }
    for (auto _ : state) {
        auto identity = verifier->verify(token, now);
        benchmark::DoNotOptimize(identity);
    }
}

void BM_JwtVerifyHS256(benchmark::State& state) {
    const std::string secret = "benchmark-secret";
    const std::string input = signing_input("HS256");
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    std::size_t mac_size = 0;
    EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(),
              mac.size(), &mac_size);
    const std::string token =
        input + '.' + b64url({reinterpret_cast<const char*>(mac.data()), mac_size});
    auth::JwtConfig config;
    config.secret = secret;
    run_verify(state, std::move(config), token);
}
BENCHMARK(BM_JwtVerifyHS256);

void BM_JwtVerifyRS256(benchmark::State& state) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}), &EVP_PKEY_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), key.get());
    char* pem = nullptr;
    const long pem_size = BIO_get_mem_data(bio.get(), &pem);
    const std::string input = signing_input("RS256");
    const std::string token = input + '.' + b64url(sign(key.get(), input));
    auth::JwtConfig config;
    config.public_key_pem = std::string(pem, static_cast<std::size_t>(pem_size));
    run_verify(state, std::move(config), token);
}
BENCHMARK(BM_JwtVerifyRS256);

// --- Recovery history, per emit ---------------------------------------------------------------

// One targeted emit into the embedded broker's history (recovery on, the default), in steady
// state: 10,000 users, one emit per simulated millisecond to one of them, a 2 s window, so each
// append also ages one emit out and, once rooms empty, forgets their tombstones. Issue 20 found
// this cost per event (the difference between --recovery auto and off in the targeted rows).
void BM_HistoryAppendTargeted(benchmark::State& state) {
    constexpr std::size_t kUsers = 10000;
    broker::History history(broker::HistoryConfig{.max_per_room = 1000,
                                                  .ttl = std::chrono::milliseconds(2000),
                                                  .tombstone_ttl = std::chrono::milliseconds(20000)});
    hub::Emit emit;
    emit.event = "balance_updated";
    emit.data_json = std::string(kEventData);
    auto now = broker::History::Clock::time_point{};
    std::uint64_t seq = 0;
    for (auto _ : state) {
        now += std::chrono::milliseconds(1);
        ++seq;
        std::vector<std::string> rooms{"user_" + std::to_string((seq * 7919) % kUsers)};
        history.append(seq, now, std::make_shared<const hub::EncodedEmit>(emit, 0), std::move(rooms), {});
    }
    benchmark::DoNotOptimize(history.events());
}
BENCHMARK(BM_HistoryAppendTargeted);

// --- Room lookup and recipient iteration, per emit --------------------------------------------

class CountingSubscriber final : public hub::Subscriber {
public:
    void deliver(const hub::Packet& /*packet*/) override { ++delivered; }
    void disconnect() override {}  // the benchmarks only deliver
    std::size_t delivered = 0;
};

// A shard with `range(0)` users, each in user_<i> and in "all".
struct Shard {
    explicit Shard(std::size_t users) : subscribers(users) {
        for (std::size_t i = 0; i < users; ++i) {
            index.join("user_" + std::to_string(i), &subscribers[i]);
            index.join("all", &subscribers[i]);
        }
    }
    std::vector<CountingSubscriber> subscribers;
    hub::RoomIndex index;
};

void BM_RoomLookupUser(benchmark::State& state) {
    const auto users = static_cast<std::size_t>(state.range(0));
    Shard shard(users);
    std::vector<std::vector<std::string>> targets;
    for (std::size_t i = 0; i < 1024; ++i) targets.push_back({"user_" + std::to_string((i * 7919) % users)});
    const hub::Packet packet = std::make_shared<const std::string>("x");
    std::size_t i = 0;
    for (auto _ : state) {
        const auto& rooms = targets[i++ & 1023];
        benchmark::DoNotOptimize(
            shard.index.for_each_recipient(rooms, {}, [&](hub::Subscriber& s) { s.deliver(packet); }));
    }
}
BENCHMARK(BM_RoomLookupUser)->Arg(1000)->Arg(10000)->Arg(100000);

// Iterating a broadcast room with one exclusion: per-recipient cost of the fan-out loop.
void BM_RoomBroadcastExcept(benchmark::State& state) {
    const auto users = static_cast<std::size_t>(state.range(0));
    Shard shard(users);
    const std::vector<std::string> rooms{"all"};
    const std::vector<std::string> except{"user_0"};
    const hub::Packet packet = std::make_shared<const std::string>("x");
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            shard.index.for_each_recipient(rooms, except, [&](hub::Subscriber& s) { s.deliver(packet); }));
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(users - 1));
}
BENCHMARK(BM_RoomBroadcastExcept)->Arg(10000);

// n subscribers join one room, then all leave (in a scattered order): the connection-layer
// issue measured 2.1 s of a worker's CPU for 100k joins on 6687268 (a linear find per join).
// With per-subscriber memberships both are O(1): the time per join+leave stays flat from 10k
// to 100k, and one iteration is the total for n joins and n leaves.
void BM_RoomJoinLeaveOneRoom(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<CountingSubscriber> subscribers(n);
    for (auto _ : state) {
        hub::RoomIndex index;
        for (auto& s : subscribers) index.join("all", &s);
        for (std::size_t i = 0; i < n; ++i) index.leave("all", &subscribers[(i * 7919) % n]);
        benchmark::DoNotOptimize(index.room_count());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(2 * n));
}
BENCHMARK(BM_RoomJoinLeaveOneRoom)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
