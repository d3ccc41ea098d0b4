// cuda/ops/tensor_table.h — many tensors in one kernel launch (the optimiser kernels of
// cuda/ops/optim.cu; apex's multi_tensor_apply, PyTorch's foreach kernels).
//
// The host cuts each tensor into chunks of kTableChunk elements and lists, per block, the tensor
// and the chunk that block handles. The table — up to kTableTensors tensors and kTableBlocks
// blocks (a GPU of ~130 SMs at about half its resident threads), under 4 KiB — travels as the kernel's argument, so a
// model's 20–200 parameters take a launch or a few rather than one each, and nothing is copied to the GPU first. Host
// code and the per-block lookup are plain C++ (SEQNET_HOST_DEVICE), so a CPU test checks that the tables cover every
// element of every tensor exactly once (tests/test_cuda_index.cpp).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/host_device.h"

namespace seqnet::cuda {

constexpr int kTableTensors = 32;
constexpr int kTableBlocks = 480;
constexpr int64_t kTableChunk = 256 * 32;  // elements per block: 32 per thread of a 256-thread block

// Depth arrays per tensor (p, g, m, v for Adam), its length, and which tensor and chunk each block
// handles: block b covers elements [chunk_of[b]·kTableChunk, min(n, (chunk_of[b] + 1)·kTableChunk))
// of tensor tensor_of[b].
template <int Depth>
struct TensorTable {
  void* ptr[Depth][kTableTensors];
  int64_t n[kTableTensors];
  int32_t chunk_of[kTableBlocks];
  uint8_t tensor_of[kTableBlocks];
};
// A kernel's arguments must fit in 4 KiB (with room for the scalars beside the table): 3 680 bytes
// at depth 4.
static_assert(sizeof(TensorTable<4>) + 256 <= 4096, "the tensor table must fit in a kernel's arguments");

// Block b's tensor (its index in the table) and element range.
struct TableRange {
  int t;
  int64_t lo, hi;
};
template <int Depth>
SEQNET_HOST_DEVICE inline TableRange table_range(const TensorTable<Depth>& table, int b) {
  const int t = table.tensor_of[b];
  const int64_t lo = int64_t(table.chunk_of[b]) * kTableChunk;
  const int64_t end = lo + kTableChunk;
  return {t, lo, table.n[t] < end ? table.n[t] : end};
}

// Fills tables from the tensors' arrays (ptrs[i][d]: tensor i's d-th array, ns[i] its length) and
// calls launch(table, blocks, first_block) for each full table and the last one, in order;
// first_block counts the blocks of the tables before (the chunks, in tensor order). An empty tensor
// takes no block; a tensor whose chunks do not fit continues in the next table.
template <int Depth, class Launch>
void for_each_table(const std::vector<std::array<void*, Depth>>& ptrs, const std::vector<int64_t>& ns,
                    Launch&& launch) {
  TensorTable<Depth> table{};
  int nt = 0, nb = 0;
  int64_t done = 0;
  const auto flush = [&] {
    if (nb > 0) launch(static_cast<const TensorTable<Depth>&>(table), nb, done);
    done += nb;
    nt = 0;
    nb = 0;
  };
  for (size_t i = 0; i < ptrs.size(); ++i) {
    const int64_t chunks = (ns[i] + kTableChunk - 1) / kTableChunk;
    for (int64_t c = 0; c < chunks; ++c) {
      if (nb == kTableBlocks || (c == 0 && nt == kTableTensors)) flush();
      if (c == 0 || nt == 0) {  // the tensor's first block in this table
        for (int d = 0; d < Depth; ++d) table.ptr[d][nt] = ptrs[i][size_t(d)];
        table.n[nt] = ns[i];
        ++nt;
      }
      table.tensor_of[nb] = uint8_t(nt - 1);
      table.chunk_of[nb] = int32_t(c);
      ++nb;
    }
  }
  flush();
}

// How many blocks for_each_table launches in all over tensors of lengths ns.
inline int64_t table_blocks(const std::vector<int64_t>& ns) {
  int64_t b = 0;
  for (const int64_t n : ns) b += (n + kTableChunk - 1) / kTableChunk;
  return b;
}

}  // namespace seqnet::cuda
