// train/data/plot.h — loss curves as SVG (no plotting library: a few dozen lines of text a browser
// shows). Reads the per-epoch records of a metrics.jsonl written by the trainer.
#pragma once
#include <string>
#include <vector>

namespace seqnet {

struct Series {
  std::string name, color;
  std::vector<double> x, y;
};

// An SVG line chart of the series (axes with ticks, legend, title).
std::string svg_line_chart(const std::vector<Series>& series, const std::string& title, const std::string& xlabel,
                           const std::string& ylabel);

// Train and valid loss against epoch from `metrics_jsonl` (records with "type": "epoch"), written
// to `svg_path`. Throws Error naming the file when it is missing or holds no epoch record.
void write_loss_plot(const std::string& metrics_jsonl, const std::string& svg_path, const std::string& title);

}  // namespace seqnet
