#include "cli/cli.hpp"

int main(int argc, char** argv) { return nfl::run_cli(argc, argv); }
