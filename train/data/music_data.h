// train/data/music_data.h — polyphonic-music piano rolls (MODELS.md §10.2, data/README.md §3).
//
// The four .mat files (JSB_Chorales, Nottingham, MuseData, Piano_midi) hold the variables
// `traindata`, `validdata`, `testdata`, each a 1 × N cell array of T × 88 binary matrices
// (column j = MIDI note 21 + j, row = time step, MATLAB column-major). Each sequence is one
// batch of size 1 in training: input = frames 0..L−2, target = frames 1..L−1.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace seqnet {

inline constexpr int64_t kPianoKeys = 88;

struct MusicSet {
  std::vector<Tensor> train, valid, test;  // each (L, 88) f32, row-major, values in {0, 1}
};

// Reads a MAT-file with libmatio. Throws Error naming the file (and the variable / cell) when the
// file cannot be opened, a variable is missing, is not a cell array, or holds a cell that is not a
// real numeric T × 88 matrix with T >= 1 and every value 0 or 1.
MusicSet load_music_mat(const std::string& path);

// The model's view of one sequence (L, 88): input = rows 0..L−2, target = rows 1..L−1, both
// (L−1, 88); contiguous views sharing seq's storage when seq is contiguous. Requires L >= 2.
void music_input_target(const Tensor& seq, Tensor& input, Tensor& target);

}  // namespace seqnet
