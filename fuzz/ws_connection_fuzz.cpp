// Drives whole WsConnections through the transport seam (tests/unit/net/test_stream.hpp):
// the input is a script of client bytes, valid frames, write stalls and releases, read and
// write failures, fan-out emits, clock ticks and peer closes. Whatever the script, every
// connection must end closed and freed with every budget given back and no room left behind
// (checked after each run; ASan/UBSan watch the memory).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "../tests/unit/net/harness.hpp"

namespace {

using namespace nudge;
using net::test::Harness;
using net::test::StreamState;
using net::test::TestConnection;
using net::test::TestStream;

std::string masked_text(std::string_view payload) {
    std::string frame(1, '\x81');
    if (payload.size() < 126) {
        frame.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
        frame.push_back(static_cast<char>(0x80 | 126));
        frame.push_back(static_cast<char>(payload.size() >> 8));
        frame.push_back(static_cast<char>(payload.size() & 0xFF));
    }
    frame.append("\x01\x02\x03\x04", 4);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        frame.push_back(static_cast<char>(payload[i] ^ static_cast<char>(1 + i % 4)));
    }
    return frame;
}

net::Limits fuzz_limits() {
    net::Limits limits;
    limits.max_send_queue_bytes = 8 * 1024;
    limits.send_queue_high_watermark = 2 * 1024;
    limits.send_queue_low_watermark = 512;
    limits.max_unauthenticated_message = 2048;
    limits.max_partial_bytes = 64 * 1024;
    limits.slow_consumer_timeout = std::chrono::milliseconds(300);
    limits.close_timeout = std::chrono::milliseconds(500);
    return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)quiet;
    Harness h(fuzz_limits());
    std::vector<std::shared_ptr<StreamState>> streams;
    for (int i = 0; i < 2; ++i) {
        auto s = std::make_shared<StreamState>(h.worker->io());
        TestConnection::start(TestStream(s), *h.worker, "ACCEPT", {});
        streams.push_back(s);
    }
    const std::string token = net::test::hs256(R"({"sub":"1","rooms":["all"]})");
    auto now = session::Protocol::Clock::now();
    std::size_t i = 0;
    while (i + 2 <= size) {
        const std::uint8_t op = data[i];
        const std::size_t n = data[i + 1];
        i += 2;
        StreamState& s = *streams[op & 1];
        const std::string_view arg(reinterpret_cast<const char*>(data + i), std::min(n, size - i));
        switch ((op >> 1) % 10) {
            case 0: s.send(arg); i += arg.size(); break;                    // raw client bytes
            case 1: s.send(masked_text(arg)); i += arg.size(); break;       // one text message
            case 2: s.send(masked_text(std::string(R"(40{"token":")") + token + "\"}")); break;
            case 3: s.set_write_capacity(n == 255 ? std::numeric_limits<std::size_t>::max() : n * 16); break;
            case 4: h.emit(n % 2 == 0 ? "user_1" : "all", "e", std::string(n * 8, '1')); break;
            case 5: s.fail_read_at = s.reads + 1 + n % 4; break;
            case 6: s.fail_write_at = s.writes + 1 + n % 4; break;
            case 7: now += std::chrono::milliseconds(n * 10); h.tick(now); break;
            case 8: s.peer_closed = true; s.notify(); break;
            case 9: s.send(masked_text(std::string(n * 40, 'x'))); break;  // big messages
        }
        h.poll();
    }
    // Let everything end: the clients read everything and close; time passes.
    for (auto& s : streams) {
        s->set_write_capacity(std::numeric_limits<std::size_t>::max());
        s->peer_closed = true;
        s->notify();
    }
    h.poll();
    h.tick(now + std::chrono::seconds(3600));
    h.poll();
    h.tick(now + std::chrono::seconds(7200));
    if (h.worker->connection_count() != 0 || h.worker->reap() != 0) std::abort();
    if (h.context.partial_bytes.load() != 0) std::abort();
    if (h.worker->rooms().room_count() != 0) std::abort();
    for (auto& s : streams) {
        if (!s->closed) std::abort();
    }
    return 0;
}
