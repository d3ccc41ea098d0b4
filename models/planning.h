// models/planning.h — size planning of the two Seq-U-Net variants, and receptive fields.
//
// Why a planner at all?
//   A Seq-U-Net made of 'valid' (unpadded) convolutions shrinks the sequence at every conv
//   (K−1 steps per stride-1 conv), halves it at every strided conv and roughly doubles it at
//   every transposed conv. Two things follow:
//     * not every input length works: a stride-2 conv only keeps the newest time step on its
//       decimation grid when its input length is odd, and the decoder must still have at least
//       a few samples at every level; so the input length must be chosen, not just accepted;
//     * the output is shorter than the input by a configuration-dependent amount.
//   The planner therefore turns a *desired* output length T into a pair (I, O): feed exactly I
//   inputs and you get O ≥ T outputs (the official training scripts then use seq_len := I,
//   validseqlen := O). Padded modes (no target) run the same planner on the actual length T at
//   every forward, zero-pad the input at the front to I and keep the last T outputs.
//
// End-alignment:
//   every crop in these models removes samples at the *front* (oldest side), so all
//   intermediate tensors are end-aligned: their last element belongs to the newest input step.
//   Output j of a plan (I, O) depends on inputs 0 .. I−O+j only (causal, next-step prediction),
//   and shortcuts are joined by keeping their last `len` samples.
//
// Basic variant (sequnet.py, MODELS.md §4.1): try bottleneck lengths b = 2, 3, … and take the
//   first one for which the upward walk (transposed conv + crop, then conv2, per level) keeps
//   ≥ 2 samples after each upsampling and ≥ 2^(i+1) after level i, reaches O ≥ T, and the
//   downward walk (input side) gives an odd length at the input of every strided conv.
//   Valid mode (padded=false, P = 0):   O = 2^n (b − (2K−1)) + (2K−1),
//                                       I = 2^n (b + 3K − 4) − (2K − 3),  I − O = (K−1)(5·2^n − 4)
//   Padded mode (padded=true, P = K−1): I = O = 2^n (b − 1) + 1            (n = levels − 1).
//   Example: K = 3, 4 levels, T = 320 → b = 45, I = 397, O = 325 (char-PTB).
//
// Residual variant (sequnet_res.py, MODELS.md §4.2): O = T rounded up to a multiple of
//   cycles C = 2^(levels−1), then walk backwards layer by layer from the output to the input
//   with each layer's inverse size rule (stride-1: +K−1; strided: 2·out + K − 2; transposed:
//   q = out + K − 1, pad_front = (q − 1) mod 2, in = ceil(q/2); input conv: +K−1). A candidate
//   O whose walk needs a non-positive length is rejected and O += C is tried.
//   pad_front[i] belongs to up block i (index 0 = outermost, applied last in the forward); it
//   is the number of front samples the transposed layer crops *less* (crop K−1−pad_front).
//   Example: K = 3, 4 levels, depth 1, T = 320 → I = 391, O = 320, pad_front [1, 1, 0].
//
// All functions are pure, throw seqnet::Error (naming the function and the bad value) on
// invalid arguments or int64 overflow, and run in time bounded independently of the target.
#pragma once
#include <cstdint>
#include <vector>

namespace seqnet {

// Basic Seq-U-Net plan (sequnet.py Sequnet.check_padding). `bottleneck` is the chosen b (length
// at the bottleneck conv's output). padded=false: valid mode (target_output_size given);
// padded=true: zero-padded mode (planned per forward on the actual length).
// Requires kernel odd ≥ 1, levels ≥ 2, target_output ≥ 1.
struct BasicPlan {
  int64_t input_size, output_size, bottleneck;
};
BasicPlan plan_basic_sequnet(int64_t kernel, int64_t levels, int64_t target_output, bool padded);

// Residual Seq-U-Net plan (sequnet_res.py Sequnet.check_padding). pad_front has levels−1
// entries, index 0 = outermost up block (upsampling_blocks.0), as in MODELS.md §4.2 and
// size_planning.json. Requires kernel odd ≥ 3 (K = 1 would need a negative front crop in the
// transposed layer whenever pad_front = 1, and a back crop of K − 2 = −1 in step mode; the
// official code only asserts oddness and mis-slices there), levels ≥ 1, depth ≥ 1, target ≥ 1.
// (levels = 1 has no up/down blocks: cycles 1, empty pad_front.)
struct ResidualPlan {
  int64_t input_size, output_size;
  std::vector<int64_t> pad_front;
};
ResidualPlan plan_residual_sequnet(int64_t kernel, int64_t levels, int64_t depth, int64_t target_output);

// TCN (tcn.py): 1 + 2(K−1)(2^L − 1), L = number of levels. kernel ≥ 1, levels ≥ 1.
int64_t tcn_receptive_field(int64_t kernel, int64_t levels);

// WaveNet: 1 + blocks·(K−1)(2^layers − 1) (= input_size for output_length 1). Audio config
// (K 2, 13 layers, 4 blocks): 32 765. kernel, layers, blocks ≥ 1.
int64_t wavenet_receptive_field(int64_t kernel, int64_t layers, int64_t blocks);

// Seq-U-Nets: what is returned is the *window span* I − O + 1 of the plan for target 1 (valid
// mode for the basic variant), i.e. the number of inputs in the window j .. I−O+j that output j
// of a plan may depend on. It does not depend on the target (basic: (K−1)(5·2^n − 4) + 1; the
// residual planner's I − O is the same for every multiple of cycles). Because of the decimation
// grid the exact set of inputs an individual output really depends on varies with its phase and
// can be a few steps shorter (e.g. 66…73 for the basic K = 3, 4 levels, whose span is 73).
// Examples: basic K 3, 4 levels → 73; residual K 3, 4 levels, depth 1 → 72; residual audio
// (K 5, 11 levels, depth 2) → 31 738.
int64_t basic_sequnet_receptive_field(int64_t kernel, int64_t levels);
int64_t residual_sequnet_receptive_field(int64_t kernel, int64_t levels, int64_t depth);

}  // namespace seqnet
