// train/data/midi.h — piano rolls out: a standard MIDI file and an SVG picture.
//
// MIDI: format 0 (one track), 480 ticks per quarter note, 120 bpm; one time step of the roll =
// one eighth note (240 ticks); key j = MIDI note 21 + j (data README §3). A note sounds from
// the step its key turns on to the step it turns off (held across consecutive 1s).
#pragma once
#include <string>

#include "core/tensor.h"

namespace seqnet {

// roll (T, 88), values 0 / 1 (anything > 0.5 counts as on). Written atomically.
void write_midi(const std::string& path, const Tensor& roll);
// The bytes of that file (for tests).
std::string midi_bytes(const Tensor& roll);
// The roll as an SVG piano-roll picture (time → right, pitch ↑).
void write_roll_svg(const std::string& path, const Tensor& roll, const std::string& title);

}  // namespace seqnet
