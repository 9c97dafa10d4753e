// nudge-loadgen: many Socket.IO clients over raw Engine.IO v4 WebSocket, and a publisher.
//
//   nudge-loadgen clients --url http://127.0.0.1:8080 --secret S --count 10000 [--first 0]
//                 [--sources 127.0.0.1-127.0.0.20] [--expect-events N] [--timeout 60]
//                 [--connect-timeout S] [--progress MS]
//       connects `count` clients (sub = first+i, rooms ["all"]), answers pings, counts events,
//       records emit→receive latency from the event's {"t": <CLOCK_MONOTONIC ns>} and prints one
//       JSON report when every client still held got `expect-events` events (or all together
//       `expect-total`), on SIGINT/SIGTERM, or at the timeout; with --hold it then keeps the
//       connections open until its stdin closes. Times are CLOCK_MONOTONIC ns, so
//       another process on the machine can compare them with its own.
//       Before the report it always prints one line for scripts: {"ready":true,...} once every
//       client is connected, refused or failed, or {"ready":false,"gave_up":"timeout"|"signal",...}
//       if that never happened; then every client still in its handshake is counted as stalled
//       and closed, so a server that accepts TCP and never answers cannot keep the caller waiting.
//       --connect-timeout gives up on the clients still connecting after S seconds (default: the
//       --timeout) and goes on with the ones held. --progress prints every MS milliseconds one line
//       {"progress":true,<counts>,"events":N,"last_event_ns":T,"latency_us":[[v,count],...]}
//       with the cumulative latency histogram's buckets, so a caller measures several windows in
//       one session (and over several processes) by subtracting and adding snapshots.
//   nudge-loadgen publish --url ... [--url ...] --api-key K --events N [--batch B] [--rate R]
//                 [--room all | --users M] [--connections C]
//       POSTs N events over C keep-alive connections (one thread each, requests in series on
//       each), B per request, at R events/s in total (0: as fast as possible), to "all" or to
//       random user_<i> with i < M; prints a JSON report. With several --url, connection c
//       publishes to the (c mod count)-th: round-robin over the hubs of a cluster.
//
// The clients run on one thread, one io_context: the hub is what is measured, and every report
// includes this process's own CPU time so a saturated load generator is visible.
#include <fmt/format.h>
#include <openssl/hmac.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/loadgen/histogram.hpp"
#include "common/base64.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

struct Url {
    std::string host;
    std::string port;
};

Url parse_url(const std::string& url) {
    std::string_view rest = url;
    if (rest.starts_with("http://")) rest.remove_prefix(7);
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) return {std::string(rest), "80"};
    return {std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1))};
}

std::string mint_token(const std::string& secret, const std::string& sub) {
    using nudge::base64url_encode;
    const std::string input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                              base64url_encode(fmt::format(R"({{"sub":"{}","rooms":["all"]}})", sub));
    unsigned char mac[32];
    unsigned int size = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
    return input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(mac), size));
}

// A masked client text frame (RFC 6455 §5.3); the mask need not be unpredictable here.
std::string client_frame(std::string_view payload) {
    std::string frame;
    frame.push_back(static_cast<char>(0x81));
    if (payload.size() < 126) {
        frame.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
        frame.push_back(static_cast<char>(0x80 | 126));
        frame.push_back(static_cast<char>((payload.size() >> 8) & 0xff));
        frame.push_back(static_cast<char>(payload.size() & 0xff));
    }
    const std::array<char, 4> mask = {0x12, 0x34, 0x56, 0x78};
    frame.append(mask.data(), mask.size());
    for (std::size_t i = 0; i < payload.size(); ++i) frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return frame;
}

// Every client is in exactly one state; it leaves kConnecting once and never comes back, so
// connected + failed + refused + stalled reaches `count` exactly when every client is settled.
enum class ClientState {
    kConnecting,  // TCP connect, WebSocket upgrade, Engine.IO open or Socket.IO CONNECT pending
    kConnected,   // the server acknowledged the Socket.IO CONNECT and still holds the connection
    kRefused,     // the server answered CONNECT with CONNECT_ERROR (44)
    kFailed,      // the connection failed or was closed before CONNECT was acknowledged
    kDropped,     // connected, then closed by the server (or by an I/O error)
    kStalled,     // still connecting when the load generator gave up; closed by it
};

struct Stats {
    std::uint64_t connected = 0;  // clients that ever reached kConnected (held + dropped)
    std::uint64_t failed = 0;
    std::uint64_t refused = 0;
    std::uint64_t dropped = 0;
    std::uint64_t stalled = 0;
    std::uint64_t held = 0;      // clients in kConnected now
    std::uint64_t held_max = 0;  // the most clients held at once
    std::uint64_t events = 0;
    std::uint64_t clients_done = 0;     // clients that got `expect-events` events
    std::uint64_t held_done = 0;        // of those, the ones still held
    nudge::bench::LatencyHistogram latency_us;
    std::int64_t first_connect_ns = 0;
    std::int64_t all_connected_ns = 0;
    std::int64_t last_event_ns = 0;
};

class Client : public std::enable_shared_from_this<Client> {
public:
    Client(asio::io_context& io, Stats& stats, std::string token, std::uint64_t expect_events)
        : socket_(io), stats_(stats), token_(std::move(token)), expect_(expect_events) {}

    void start(const tcp::endpoint& target, const asio::ip::address& source, const std::string& host) {
        boost::system::error_code ec;
        socket_.open(tcp::v4(), ec);
        socket_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!source.is_unspecified()) socket_.bind(tcp::endpoint(source, 0), ec);
        if (ec) return fail();
        request_ = fmt::format(
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n",
            host);
        socket_.async_connect(target, [self = shared_from_this()](boost::system::error_code connect_ec) {
            if (connect_ec) return self->fail();
            asio::async_write(self->socket_, asio::buffer(self->request_),
                              [self](boost::system::error_code write_ec, std::size_t) {
                                  if (write_ec) return self->fail();
                                  self->read();
                              });
        });
    }

    // Gives up on a client still in its handshake: counted as stalled and closed.
    void stall() {
        if (state_ != ClientState::kConnecting) return;
        state_ = ClientState::kStalled;
        ++stats_.stalled;
        close();
    }

private:
    // The connection ended (error, EOF, close frame, refused upgrade): counted once, by the state
    // it ended in, and closed so the server sees the end too.
    void fail() {
        if (state_ == ClientState::kConnecting) {
            state_ = ClientState::kFailed;
            ++stats_.failed;
        } else if (state_ == ClientState::kConnected) {
            state_ = ClientState::kDropped;
            ++stats_.dropped;
            --stats_.held;
            if (received_ >= expect_ && expect_ > 0) --stats_.held_done;
        }
        close();
    }

    void close() {
        closed_ = true;
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    void read() {
        const std::size_t old = buffer_.size();
        buffer_.resize(old + 4096);
        socket_.async_read_some(asio::buffer(buffer_.data() + old, 4096),
                                [self = shared_from_this(), old](boost::system::error_code ec, std::size_t n) {
                                    self->buffer_.resize(old + n);
                                    if (ec) return self->fail();
                                    self->parse();
                                    if (!self->closed_) self->read();
                                });
    }

    void parse() {
        std::size_t pos = 0;
        if (!upgraded_) {
            const auto end = buffer_.find("\r\n\r\n");
            if (end == std::string::npos) return;
            if (!buffer_.starts_with("HTTP/1.1 101")) return fail();
            upgraded_ = true;
            pos = end + 4;
        }
        // Server frames: unmasked, FIN set (the hub never fragments).
        while (buffer_.size() - pos >= 2) {
            const auto opcode = static_cast<unsigned char>(buffer_[pos]) & 0x0f;
            std::size_t length = static_cast<unsigned char>(buffer_[pos + 1]) & 0x7f;
            std::size_t header = 2;
            if (length == 126) {
                if (buffer_.size() - pos < 4) break;
                length = (static_cast<std::size_t>(static_cast<unsigned char>(buffer_[pos + 2])) << 8) |
                         static_cast<unsigned char>(buffer_[pos + 3]);
                header = 4;
            } else if (length == 127) {
                if (buffer_.size() - pos < 10) break;
                length = 0;
                for (int i = 0; i < 8; ++i) length = (length << 8) | static_cast<unsigned char>(buffer_[pos + 2 + static_cast<std::size_t>(i)]);
                header = 10;
            }
            if (buffer_.size() - pos < header + length) break;
            const std::string_view payload(buffer_.data() + pos + header, length);
            pos += header + length;
            if (opcode == 0x8) return fail();  // close
            if (opcode == 0x1) on_packet(payload);
        }
        buffer_.erase(0, pos);
    }

    void on_packet(std::string_view packet) {
        if (packet.starts_with("0")) {  // Engine.IO open
            send("40" + fmt::format(R"({{"token":"{}"}})", token_));
        } else if (packet == "2") {
            send("3");
        } else if (packet.starts_with("40")) {
            if (state_ != ClientState::kConnecting) return;
            state_ = ClientState::kConnected;
            const std::int64_t now = now_ns();
            if (stats_.first_connect_ns == 0) stats_.first_connect_ns = now;
            ++stats_.connected;
            stats_.held_max = std::max(stats_.held_max, ++stats_.held);
            stats_.all_connected_ns = now;
        } else if (packet.starts_with("44")) {
            if (state_ != ClientState::kConnecting) return;
            state_ = ClientState::kRefused;
            ++stats_.refused;
            close();
        } else if (packet.starts_with("42")) {
            ++stats_.events;
            const std::int64_t now = now_ns();
            stats_.last_event_ns = now;
            const auto t = packet.find(R"("t":)");
            if (t != std::string_view::npos) {
                const std::int64_t sent = std::strtoll(packet.data() + t + 4, nullptr, 10);
                stats_.latency_us.record((now - sent) / 1000);
            }
            if (++received_ == expect_) {
                ++stats_.clients_done;
                ++stats_.held_done;
            }
        }
    }

    void send(const std::string& text) {
        auto frame = std::make_shared<std::string>(client_frame(text));
        asio::async_write(socket_, asio::buffer(*frame),
                          [self = shared_from_this(), frame](boost::system::error_code ec, std::size_t) {
                              if (ec) self->fail();
                          });
    }

    tcp::socket socket_;
    Stats& stats_;
    std::string token_;
    std::string request_;
    std::string buffer_;
    std::uint64_t expect_;
    std::uint64_t received_ = 0;
    ClientState state_ = ClientState::kConnecting;
    bool upgraded_ = false;
    bool closed_ = false;
};

std::vector<asio::ip::address> parse_sources(const std::string& spec) {
    // "127.0.0.1-127.0.0.20" or a single address; empty: let the kernel choose.
    std::vector<asio::ip::address> out;
    if (spec.empty()) return out;
    const auto dash = spec.find('-');
    const auto first = asio::ip::make_address_v4(spec.substr(0, dash));
    const auto last = dash == std::string::npos ? first : asio::ip::make_address_v4(spec.substr(dash + 1));
    for (auto a = first.to_uint(); a <= last.to_uint(); ++a) out.emplace_back(asio::ip::address_v4(a));
    return out;
}

int run_clients(const std::string& url, const std::string& secret, std::uint64_t count, std::uint64_t first,
                const std::string& sources, std::uint64_t expect_events, std::uint64_t expect_total,
                double timeout_s, double connect_timeout_s, std::uint64_t progress_ms, bool hold) {
    asio::io_context io(1);
    const Url u = parse_url(url);
    tcp::resolver resolver(io);
    const tcp::endpoint target = *resolver.resolve(u.host, u.port).begin();
    const auto source_list = parse_sources(sources);
    Stats stats;
    const double cpu0 = cpu_seconds();
    const std::int64_t start = now_ns();

    // Connect in waves so the listen backlog is never the bottleneck being measured. Every client
    // is kept here so the ones still in their handshake can be given up on.
    std::vector<std::shared_ptr<Client>> all;
    all.reserve(count);
    std::uint64_t started = 0;
    asio::steady_timer pacer(io);
    std::function<void()> launch = [&] {
        for (int i = 0; i < 500 && started < count; ++i, ++started) {
            const auto source = source_list.empty() ? asio::ip::address() : source_list[started % source_list.size()];
            all.push_back(std::make_shared<Client>(io, stats, mint_token(secret, std::to_string(first + started)),
                                                   expect_events));
            all.back()->start(target, source, u.host + ":" + u.port);
        }
        if (started < count) {
            pacer.expires_after(std::chrono::milliseconds(1));
            pacer.async_wait([&](boost::system::error_code) { launch(); });
        }
    };
    launch();

    bool stop = false;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) { stop = true; });
    // Ready line for scripts: every client settled before any event is published. If that never
    // happens, the clients still connecting are given up on and a final line says so: the caller
    // always gets exactly one line with "ready" before the report.
    const auto counts = [&] {
        return fmt::format(R"("connected":{},"held":{},"failed":{},"refused":{},"dropped":{},"stalled":{})",
                           stats.connected, stats.held, stats.failed, stats.refused, stats.dropped,
                           stats.stalled);
    };
    bool announced = false;
    const auto give_up = [&](const char* why) {
        announced = true;
        for (const auto& client : all) client->stall();
        std::cout << fmt::format(R"({{"ready":false,"gave_up":"{}",{}}})", why, counts()) << std::endl;
    };
    const auto progress_ns = static_cast<std::int64_t>(progress_ms) * 1000000;
    std::int64_t next_progress = start + progress_ns;
    asio::steady_timer ticker(io);
    std::function<void()> tick = [&] {
        const std::int64_t now = now_ns();
        const double elapsed = static_cast<double>(now - start) / 1e9;
        const bool settled = stats.connected + stats.failed + stats.refused + stats.stalled >= count;
        if (settled && !announced) {
            announced = true;
            std::cout << fmt::format(R"({{"ready":true,{}}})", counts()) << std::endl;
        }
        if (!announced && elapsed > connect_timeout_s) give_up("timeout");
        if (progress_ns > 0 && now >= next_progress) {
            next_progress = now + progress_ns;
            std::cout << fmt::format(R"({{"progress":true,{},"events":{},"last_event_ns":{},"latency_us":{}}})",
                                     counts(), stats.events, stats.last_event_ns, stats.latency_us.buckets_json())
                      << std::endl;
        }
        // A dropped client can receive nothing more, so only the ones still held are waited for.
        const bool all_received = (expect_events > 0 && settled && stats.held_done >= stats.held) ||
                                  (expect_total > 0 && stats.events >= expect_total);
        const bool timed_out = elapsed > timeout_s;
        if (stop || all_received || timed_out) {
            if (!announced) give_up(timed_out ? "timeout" : "signal");
            io.stop();
            return;
        }
        ticker.expires_after(std::chrono::milliseconds(5));
        ticker.async_wait([&](boost::system::error_code) { tick(); });
    };
    tick();
    io.run();

    const auto ms = [&](std::int64_t t) { return t == 0 ? 0.0 : static_cast<double>(t - start) / 1e6; };
    std::cout << fmt::format(
                     R"({{"clients":{},{},"held_max":{},"connect_ms":{:.1f},)"
                     R"("events":{},"clients_complete":{},"last_event_ms":{:.1f},)"
                     R"("latency_us":{{"p50":{},"p99":{},"p999":{},"max":{}}},"cpu_s":{:.3f},)"
                     R"("start_ns":{},"last_event_ns":{}}})",
                     count, counts(), stats.held_max, ms(stats.all_connected_ns),
                     stats.events, stats.clients_done, ms(stats.last_event_ns),
                     stats.latency_us.quantile(0.5), stats.latency_us.quantile(0.99),
                     stats.latency_us.quantile(0.999), stats.latency_us.max(), cpu_seconds() - cpu0, start,
                     stats.last_event_ns)
              << std::endl;
    if (hold) {
        // Keep every connection open until stdin closes, so the caller can read the server's
        // CPU time before 10k disconnects land in it.
        for (std::string line; std::getline(std::cin, line);) {
        }
    }
    return stats.held == count ? 0 : 1;
}

struct PublishCounts {
    std::uint64_t sent = 0;
    std::uint64_t accepted = 0;
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
};

// One keep-alive connection publishing `events` serially (request, then its response), `batch`
// per request, at `rate` events/s from `start` (0: as fast as the round trips allow).
PublishCounts publish_serially(const Url& u, const std::string& api_key, std::uint64_t events,
                               std::uint64_t batch, double rate, const std::string& room, std::uint64_t users,
                               std::uint64_t seed, std::int64_t start) {
    asio::io_context io(1);
    tcp::resolver resolver(io);
    tcp::socket socket(io);
    asio::connect(socket, resolver.resolve(u.host, u.port));
    socket.set_option(tcp::no_delay(true));
    std::mt19937_64 rng(seed);
    PublishCounts counts;
    std::string response;
    while (counts.sent < events) {
        const std::uint64_t n = std::min<std::uint64_t>(batch, events - counts.sent);
        if (rate > 0) {  // fixed rate: wait until this batch is due
            const auto due = start + static_cast<std::int64_t>(static_cast<double>(counts.sent) / rate * 1e9);
            while (now_ns() < due) std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        std::string body = n == 1 ? std::string() : std::string(R"({"events":[)");
        for (std::uint64_t i = 0; i < n; ++i) {
            const std::string target = room.empty() ? fmt::format("user_{}", rng() % users) : room;
            if (i > 0) body.push_back(',');
            body += fmt::format(R"({{"room":"{}","event":"bench","data":{{"t":{}}}}})", target, now_ns());
        }
        if (n != 1) body += "]}";
        const std::string request = fmt::format(
            "POST /api/v1/emit HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n"
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            u.host, api_key, body.size(), body);
        asio::write(socket, asio::buffer(request));
        ++counts.requests;
        // Read exactly one response (status line + Content-Length body).
        for (;;) {
            const auto end = response.find("\r\n\r\n");
            if (end != std::string::npos) {
                // Header names are case-insensitive (Node sends "content-length").
                std::string head = response.substr(0, end);
                std::transform(head.begin(), head.end(), head.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                const auto cl = head.find("content-length:");
                const std::size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15));
                if (response.size() >= end + 4 + length) {
                    if (response.starts_with("HTTP/1.1 202")) {
                        counts.accepted += n;
                    } else {
                        ++counts.errors;
                    }
                    response.erase(0, end + 4 + length);
                    break;
                }
            }
            std::array<char, 4096> chunk{};
            const std::size_t got = socket.read_some(asio::buffer(chunk));
            response.append(chunk.data(), got);
        }
        counts.sent += n;
    }
    return counts;
}

// `connections` publishers in parallel (one thread and one keep-alive connection each, as a
// backend's worker pool would), sharing the events and the rate.
int run_publish(const std::vector<std::string>& urls, const std::string& api_key, std::uint64_t events,
                std::uint64_t batch, double rate, const std::string& room, std::uint64_t users,
                std::uint64_t connections) {
    std::vector<Url> targets;
    for (const auto& url : urls) targets.push_back(parse_url(url));
    if (targets.empty()) targets.push_back(parse_url("http://127.0.0.1:8080"));
    const double cpu0 = cpu_seconds();
    const std::int64_t start = now_ns();
    std::vector<PublishCounts> counts(connections);
    {
        std::vector<std::jthread> threads;
        for (std::uint64_t c = 0; c < connections; ++c) {
            const std::uint64_t share = events / connections + (c < events % connections ? 1 : 0);
            threads.emplace_back([&, c, share] {
                counts[c] = publish_serially(targets[c % targets.size()], api_key, share, batch, rate / static_cast<double>(connections),
                                             room, users, 42 + c, start);
            });
        }
    }
    PublishCounts total;
    for (const auto& c : counts) {
        total.sent += c.sent;
        total.accepted += c.accepted;
        total.requests += c.requests;
        total.errors += c.errors;
    }
    const double seconds = static_cast<double>(now_ns() - start) / 1e9;
    std::cout << fmt::format(R"({{"events":{},"accepted":{},"requests":{},"errors":{},"connections":{},)"
                             R"("seconds":{:.3f},"events_per_s":{:.0f},"cpu_s":{:.3f},"start_ns":{}}})",
                             total.sent, total.accepted, total.requests, total.errors, connections, seconds,
                             static_cast<double>(total.sent) / seconds, cpu_seconds() - cpu0, start)
              << std::endl;
    return total.errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    raise_fd_limit();
    CLI::App app{"nudge-loadgen: Socket.IO clients and a publisher for benchmarking nudged"};
    app.require_subcommand(1);
    std::string url = "http://127.0.0.1:8080";
    std::vector<std::string> publish_urls;
    std::string secret;
    std::string api_key;
    std::string sources;
    std::string room;
    std::uint64_t count = 100;
    std::uint64_t first = 0;
    std::uint64_t expect = 0;
    std::uint64_t expect_total = 0;
    std::uint64_t events = 100;
    std::uint64_t batch = 1;
    std::uint64_t users = 1;
    std::uint64_t connections = 1;
    bool hold = false;
    double rate = 0;
    double timeout = 60;
    double connect_timeout = 0;
    std::uint64_t progress_ms = 0;

    auto* clients = app.add_subcommand("clients", "connect clients and count events");
    clients->add_option("--url", url);
    clients->add_option("--secret", secret, "HS256 secret of the hub")->required();
    clients->add_option("--count", count);
    clients->add_option("--first", first, "user id of the first client");
    clients->add_option("--sources", sources, "source addresses, e.g. 127.0.0.1-127.0.0.20");
    clients->add_option("--expect-events", expect, "stop when every client has this many events");
    clients->add_option("--expect-total", expect_total, "stop when all clients together have this many");
    clients->add_option("--timeout", timeout, "seconds");
    clients->add_option("--connect-timeout", connect_timeout,
                        "seconds before giving up on the clients still connecting (default: --timeout)");
    clients->add_option("--progress", progress_ms, "print a progress line every this many milliseconds");
    clients->add_flag("--hold", hold, "after the report, keep the connections open until stdin closes");

    auto* publish = app.add_subcommand("publish", "publish events through the HTTP API");
    publish->add_option("--url", publish_urls, "hub URL; repeated: connections round-robin over them");
    publish->add_option("--api-key", api_key)->required();
    publish->add_option("--events", events);
    publish->add_option("--batch", batch)->check(CLI::Range(1, 100000));
    publish->add_option("--rate", rate, "events per second, 0 = as fast as possible");
    publish->add_option("--room", room, "target room (default: random user_<i>)");
    publish->add_option("--users", users, "number of user rooms to pick from")->check(CLI::Range(1, 100000000));
    publish->add_option("--connections", connections, "parallel keep-alive publishers")->check(CLI::Range(1, 256));
    CLI11_PARSE(app, argc, argv);

    try {
        if (*clients) {
            return run_clients(url, secret, count, first, sources, expect, expect_total, timeout,
                               connect_timeout > 0 ? connect_timeout : timeout, progress_ms, hold);
        }
        return run_publish(publish_urls, api_key, events, batch, rate, room, users, connections);
    } catch (const std::exception& e) {
        std::cerr << "nudge-loadgen: " << e.what() << "\n";
        return 2;
    }
}
