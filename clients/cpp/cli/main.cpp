// `nudge`: the command line for publishing to a hub (see commands.hpp).
#include <exception>
#include <iostream>

#include "commands.hpp"

int main(int argc, char** argv) {
    try {
        return nudge::cli::run(argc, argv, std::cout, std::cerr);
    } catch (const std::exception& error) {
        std::cerr << "nudge: " << error.what() << "\n";
        return nudge::cli::kExitUnexpected;
    }
}
