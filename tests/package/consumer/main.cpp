// consumer <hub url> <api key> <user id> <event> <json data>: emits one event to the user's
// room through the installed nudge::emitter and prints how many events the hub accepted.
#include <nudge/emitter.hpp>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 6) {
        std::cerr << "usage: consumer <hub url> <api key> <user id> <event> <json data>\n";
        return 2;
    }
    nudge::EmitterOptions options;
    options.url = argv[1];
    options.api_key = argv[2];
    auto emitter = nudge::Emitter::create(std::move(options));
    if (!emitter) {
        std::cerr << emitter.error().describe() << "\n";
        return 2;
    }
    auto data = nudge::parse_json(argv[5]);
    if (!data) {
        std::cerr << data.error().describe() << "\n";
        return 2;
    }
    auto sent = emitter->emit_event(argv[3], argv[4], *data);
    if (!sent) {
        std::cerr << sent.error().describe() << "\n";
        return 1;
    }
    std::cout << "accepted " << sent->events << "\n";
    return 0;
}
