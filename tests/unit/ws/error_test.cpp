#include "ws/error.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace nudge::ws {
namespace {

const std::vector<Error> kAllErrors = {
    Error::kUnmaskedFrame,          Error::kReservedBits,
    Error::kUnknownOpcode,          Error::kControlFrameTooLong,
    Error::kFragmentedControlFrame, Error::kUnexpectedContinuation,
    Error::kExpectedContinuation,   Error::kBadLength,
    Error::kMessageTooBig,          Error::kInvalidUtf8,
    Error::kBadClosePayload,
};

TEST(WsError, EveryErrorHasItsOwnMessage) {
    std::set<std::string_view> seen;
    for (Error error : kAllErrors) {
        EXPECT_FALSE(message(error).empty());
        seen.insert(message(error));
    }
    EXPECT_EQ(seen.size(), kAllErrors.size());
}

TEST(WsError, CloseCodes) {
    // RFC 6455 §7.4.1: 1007 for bad data, 1009 for too big, 1002 for the rest.
    for (Error error : kAllErrors) {
        const CloseCode expected = error == Error::kInvalidUtf8     ? CloseCode::kInvalidPayload
                                   : error == Error::kMessageTooBig ? CloseCode::kMessageTooBig
                                                                    : CloseCode::kProtocolError;
        EXPECT_EQ(close_code(error), expected) << message(error);
    }
    EXPECT_EQ(static_cast<int>(close_code(Error::kInvalidUtf8)), 1007);
    EXPECT_EQ(static_cast<int>(close_code(Error::kMessageTooBig)), 1009);
    EXPECT_EQ(static_cast<int>(close_code(Error::kBadClosePayload)), 1002);
}

}  // namespace
}  // namespace nudge::ws
