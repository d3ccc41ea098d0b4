// train/cli/cli.h — the `seqnet` command line (CLI11), callable in-process so tests can drive it.
//
//   seqnet train  --task T --model M [flags]     train (official defaults per task)
//   seqnet eval   --checkpoint F                 metrics of a checkpoint on train / valid / test
//   seqnet search --task T --model M --trials N  TPE search over lr and clip, then retrain the best
//   seqnet generate --checkpoint F --out OUT     sample audio / text / music from a checkpoint
//   seqnet plot   METRICS -o curve.svg           train / valid loss against epoch
//   seqnet info   [--task T --model M]           build, BLAS, threads; or a model's size
//   seqnet verify PARAMS DATA                    check a model against PyTorch reference files
//   seqnet demo   [--quick]                      the main job: a copy-memory TCN, no data files
#pragma once

namespace seqnet {

// Returns the process exit status: 0 success, 1 error (message on stderr), 2 nothing checked
// (verify), CLI11's codes for usage errors (unknown flag, bad value).
int run_cli(int argc, const char* const* argv);

}  // namespace seqnet
