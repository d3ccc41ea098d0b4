#include "train/data/plot.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "core/paths.h"
#include "core/json.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace seqnet {
namespace {

// "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k.
std::vector<double> ticks(double lo, double hi, int target = 6) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3 ? 2 * mag : raw / mag < 7 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push_back(v);
  return t;
}

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return o;
}

}  // namespace

std::string svg_line_chart(const std::vector<Series>& series, const std::string& title, const std::string& xlabel,
                           const std::string& ylabel) {
  const double W = 720, H = 440, L = 70, R = 20, T = 40, B = 55;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]), y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  check(std::isfinite(x0) && std::isfinite(y0), "plot: no finite points to draw");
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H, W, H);
  s += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n", W / 2, esc(title));
  for (double t : ticks(y0, y1)) {
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e4e4e4\"/>\n", L, py(t),
                     W - R, py(t));
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n", L - 6, py(t) + 4, t);
  }
  for (double t : ticks(x0, x1)) {
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#999\"/>\n", px(t),
                     H - B, px(t), H - B + 5);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g}</text>\n", px(t), H - B + 18, t);
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", L, T,
                   W - L - R, H - T - B);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (L + W - R) / 2, H - 12, esc(xlabel));
  s += fmt::format("<text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">{}</text>\n",
                   (T + H - B) / 2, (T + H - B) / 2, esc(ylabel));
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& se = series[k];
    std::string pts;
    for (size_t i = 0; i < se.x.size(); ++i)
      if (std::isfinite(se.y[i])) pts += fmt::format("{:.1f},{:.1f} ", px(se.x[i]), py(se.y[i]));
    s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", se.color, pts);
    const double ly = T + 16 + 18 * double(k);
    s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", W - R - 130,
                     ly - 4, W - R - 105, ly - 4, se.color);
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", W - R - 98, ly, esc(se.name));
  }
  s += "</svg>\n";
  return s;
}

void write_loss_plot(const std::string& metrics_jsonl, const std::string& svg_path, const std::string& title) {
  check_regular_file(metrics_jsonl, "plot");
  std::ifstream in(metrics_jsonl);
  check(bool(in), "plot: cannot read {}", metrics_jsonl);
  Series train{"train loss", "#1f77b4", {}, {}}, valid{"valid loss", "#d62728", {}, {}};
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      check_json_nesting(line, fmt::format("plot: {} line {}", metrics_jsonl, lineno));
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(fmt::format("plot: {} line {} is not JSON: {}", metrics_jsonl, lineno, e.what()));
    }
    if (!j.is_object() || j.value("type", "") != "epoch") continue;
    const double e = j.at("epoch").get<double>();
    train.x.push_back(e), train.y.push_back(j.at("train_loss").get<double>());
    valid.x.push_back(e), valid.y.push_back(j.at("valid_loss").get<double>());
  }
  check(!train.x.empty(), "plot: {} holds no epoch records (type \"epoch\")", metrics_jsonl);
  const std::string svg = svg_line_chart({train, valid}, title, "epoch", "loss");
  write_file_atomic(svg_path, svg, "plot");
}

}  // namespace seqnet
