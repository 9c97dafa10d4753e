#include "app/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace nudge::app {

namespace {

// %j: the log message escaped for a JSON string, so a message with quotes, backslashes or
// control characters still yields one valid JSON object per line.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
                spdlog::memory_buf_t& dest) override {
        for (const char c : msg.payload) {
            switch (c) {
                case '"': dest.append(std::string_view("\\\"")); break;
                case '\\': dest.append(std::string_view("\\\\")); break;
                case '\n': dest.append(std::string_view("\\n")); break;
                case '\r': dest.append(std::string_view("\\r")); break;
                case '\t': dest.append(std::string_view("\\t")); break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<int>(c));
                    } else {
                        dest.push_back(c);
                    }
            }
        }
    }
    [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JsonEscapedMessage>();
    }
};

}  // namespace

void setup_logging(const config::Log& log) {
    auto logger = spdlog::stdout_color_mt("nudged");
    if (log.json) {
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<JsonEscapedMessage>('j').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"message":"%j"})");
        logger->set_formatter(std::move(formatter));
    } else {
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    }
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(log.level));
    spdlog::flush_on(spdlog::level::info);
}

}  // namespace nudge::app
