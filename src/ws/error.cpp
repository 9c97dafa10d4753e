#include "ws/error.hpp"

#include <cstdlib>

namespace nudge::ws {

std::string_view message(Error error) noexcept {
    switch (error) {
        case Error::kUnmaskedFrame:
            return "client frame is not masked";
        case Error::kReservedBits:
            return "reserved bits set without a negotiated extension";
        case Error::kUnknownOpcode:
            return "unknown opcode";
        case Error::kControlFrameTooLong:
            return "control frame payload longer than 125 bytes";
        case Error::kFragmentedControlFrame:
            return "fragmented control frame";
        case Error::kUnexpectedContinuation:
            return "continuation frame without a message in progress";
        case Error::kExpectedContinuation:
            return "new data frame inside a fragmented message";
        case Error::kBadLength:
            return "invalid payload length";
        case Error::kMessageTooBig:
            return "message too big";
        case Error::kInvalidUtf8:
            return "invalid UTF-8 in text message or close reason";
        case Error::kBadClosePayload:
            return "invalid close frame payload";
    }
    std::abort();  // cannot happen: every enumerator is handled above
}

CloseCode close_code(Error error) noexcept {
    switch (error) {
        case Error::kInvalidUtf8:
            return CloseCode::kInvalidPayload;  // §7.4.1: 1007
        case Error::kMessageTooBig:
            return CloseCode::kMessageTooBig;  // §7.4.1: 1009
        case Error::kUnmaskedFrame:
        case Error::kReservedBits:
        case Error::kUnknownOpcode:
        case Error::kControlFrameTooLong:
        case Error::kFragmentedControlFrame:
        case Error::kUnexpectedContinuation:
        case Error::kExpectedContinuation:
        case Error::kBadLength:
        case Error::kBadClosePayload:
            return CloseCode::kProtocolError;  // §7.4.1: 1002
    }
    std::abort();  // cannot happen: every enumerator is handled above
}

}  // namespace nudge::ws
