// LocalBroker: the embedded default — events published on this node reach this node's
// clients, with no external service. Thread-safe; owns nothing but a reference to the hub.
#pragma once

#include "broker/broker.hpp"
#include "hub/hub.hpp"

namespace nudge::broker {

class LocalBroker final : public Broker {
public:
    explicit LocalBroker(hub::Hub& hub) : hub_(hub) {}
    PublishResult publish(hub::SharedBatch batch) override {
        return hub_.deliver(batch) ? PublishResult::kAccepted : PublishResult::kOverloaded;
    }
    PublishResult apply(hub::SharedRoomOp op) override {
        return hub_.apply(op) ? PublishResult::kAccepted : PublishResult::kOverloaded;
    }

private:
    hub::Hub& hub_;
};

}  // namespace nudge::broker
