#include "redis/connection.hpp"

#include "redis/connection_impl.hpp"

namespace nudge::redis {

void append_command(std::string& out, std::span<const std::string_view> args) {
    // RESP2 request: an array of bulk strings (https://redis.io/docs/reference/protocol-spec/).
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (const std::string_view arg : args) {
        out += '$';
        out += std::to_string(arg.size());
        out += "\r\n";
        out.append(arg);
        out += "\r\n";
    }
}

std::string authority(const Endpoint& endpoint) {
    const bool v6 = endpoint.host.find(':') != std::string::npos;
    return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

template class BasicConnection<boost::asio::ip::tcp::socket>;

}  // namespace nudge::redis
