// train/cli/main.cpp — the `seqnet` command-line tool; everything lives in train/cli/cli.cpp.
#include "train/cli/cli.h"

int main(int argc, char** argv) { return seqnet::run_cli(argc, argv); }
