#include "train/cli/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/numbers.h"
#include "core/safetensors.h"
#include "models/heads.h"
#include "models/registry.h"
#include "models/step/sequnet_res_step.h"
#include "models/step/wavenet_step.h"
#include "ops/loss.h"
#include "ops/ops.h"

namespace seqnet {

namespace {

VerifyRow compare(const std::string& name, const Tensor& ours, const Tensor& ref, double rtol, double atol) {
  VerifyRow row;
  row.tensor = name;
  if (!ours.defined()) {
    row.note = "no gradient computed";
    return row;
  }
  if (ours.shape() != ref.shape()) {
    row.note = fmt::format("shape {} vs reference {}", shape_str(ours.shape()), shape_str(ref.shape()));
    return row;
  }
  std::vector<double> a = ours.to_vector<double>(), b = ref.to_vector<double>();
  double scale = 0;
  for (double v : b) scale = std::max(scale, std::fabs(v));
  // The oracle fails on a non-finite value on either side: NaN compares false with everything,
  // so a NaN reference would otherwise pass every tolerance test.
  bool ours_finite = true, ref_finite = true;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    if (!std::isfinite(a[i])) ours_finite = false;
    if (!std::isfinite(b[i])) ref_finite = false;
    row.max_abs = std::max(row.max_abs, d);
    if (std::fabs(b[i]) > 1e-3 * scale && b[i] != 0) row.max_rel = std::max(row.max_rel, d / std::fabs(b[i]));
    row.worst = std::max(row.worst, d / (atol + rtol * std::fabs(b[i])));
  }
  row.ok = ours_finite && ref_finite && row.worst <= 1.0;
  if (!ref_finite) row.note = "non-finite values in the reference file";
  else if (!ours_finite) row.note = "non-finite values";
  return row;
}

// A parameter with no reference gradient (PyTorch gave it none) must get a zero gradient.
VerifyRow expect_zero(const std::string& name, const Tensor& ours) {
  VerifyRow row;
  row.tensor = name;
  row.note = "no reference gradient: expect zero";
  bool finite = true;
  if (ours.defined())
    for (double v : ours.to_vector<double>()) {
      finite = finite && std::isfinite(v);
      row.max_abs = std::max(row.max_abs, std::fabs(v));  // (std::max drops a NaN: hence `finite`)
    }
  row.ok = finite && row.max_abs == 0.0;
  if (!finite) row.note = "non-finite values where the reference has no gradient";
  return row;
}

// The step-mode reference files (refs/README.md, "Generation files"): save on one-hot(indices[:, :I]),
// S teacher-forced steps, greedy generation of G steps from the same start. `Stepper` is
// WaveNetStepper or SequnetResStepper.
template <class Stepper>
void check_generation(Stepper& gen, const SafetensorsFile& D, int64_t input_size, int64_t classes, double rtol,
                      double atol, VerifyResult& r) {
  const Tensor& indices = D.get("indices");
  const Tensor& ref_steps = D.get("step_outputs");
  const int64_t N = indices.size(0), S = ref_steps.size(0);
  check(indices.dim() == 2 && indices.size(1) >= input_size + S,
        "verify: {}: 'indices' {} is too short for input size {} and {} steps", D.path, indices.describe(), input_size,
        S);
  auto onehot = [&](int64_t begin, int64_t len) {  // (N, classes, len)
    return one_hot_channels_first(indices.narrow(1, begin, len).contiguous(), classes);
  };
  NoGradGuard no_grad;
  r.rows.push_back(compare("save_output", gen.save(onehot(0, input_size)), D.get("save_output"), rtol, atol));
  Tensor steps = Tensor::zeros({S, N, classes});
  for (int64_t s = 1; s <= S; ++s)
    steps.select(0, s - 1).copy_(gen.step(onehot(input_size + s - 1, 1).squeeze(2).contiguous()));
  r.rows.push_back(compare("step_outputs", steps, ref_steps, rtol, atol));
  r.rows.push_back(compare("full_equivalent", steps, D.get("full_equivalent"), rtol, atol));

  // Greedy: call 0 = save (its last column), then steps on the argmax of the previous call.
  const Tensor& ref_logits = D.get("greedy_logits");
  const int64_t G = ref_logits.size(0);
  Tensor logits = Tensor::zeros({G, N, classes});
  Tensor chosen = Tensor::zeros({N, G}, DType::I64);
  Tensor y0 = gen.save(onehot(0, input_size));
  logits.select(0, 0).copy_(y0.select(2, y0.size(2) - 1));
  std::vector<int64_t> idx(static_cast<size_t>(N));
  for (int64_t g = 0; g < G; ++g) {
    const std::vector<float> l = logits.select(0, g).contiguous().to_vector<float>();
    for (int64_t n = 0; n < N; ++n) {
      idx[size_t(n)] = std::max_element(l.begin() + n * classes, l.begin() + (n + 1) * classes) -
                       (l.begin() + n * classes);
      chosen.data<int64_t>()[n * G + g] = idx[size_t(n)];
    }
    if (g + 1 < G) logits.select(0, g + 1).copy_(gen.step_indices(idx.data()));
  }
  r.rows.push_back(compare("greedy_logits", logits, ref_logits, rtol, atol));
  VerifyRow ids;
  ids.tensor = "greedy_indices";
  const std::vector<int64_t> ours = chosen.to_vector<int64_t>(), ref = D.get("greedy_indices").to_vector<int64_t>();
  int64_t differ = 0;
  for (size_t i = 0; i < ours.size(); ++i) differ += (i >= ref.size() || ours[i] != ref[i]) ? 1 : 0;
  ids.ok = ours.size() == ref.size() && differ == 0;
  ids.max_abs = double(differ);
  ids.worst = ids.ok ? 0.0 : 1e9;
  ids.note = ids.ok ? "identical" : fmt::format("{} of {} indices differ", differ, ref.size());
  r.rows.push_back(ids);
}

// True when every row is within tolerance.
bool all_ok(const std::vector<VerifyRow>& rows) {
  return std::all_of(rows.begin(), rows.end(), [](const VerifyRow& row) { return row.ok; });
}

// `o` with the dtype's default tolerances where it leaves them unset (< 0).
VerifyOptions with_default_tolerances(const VerifyOptions& o) {
  VerifyOptions opt = o;
  if (opt.rtol < 0) opt.rtol = opt.dtype == DType::F64 ? 1e-6 : 1e-5;
  if (opt.atol < 0) opt.atol = opt.dtype == DType::F64 ? 1e-8 : 1e-6;
  check(is_floating(opt.dtype), "verify: --dtype must be f32 or f64");
  return opt;
}

// The model config (JSON) from the __metadata__ of P, else of D; `doc` names the file it came from.
const std::string& find_config(const SafetensorsFile& P, const SafetensorsFile& D, const std::string& params_path,
                               const std::string& data_path, std::string& doc) {
  for (const SafetensorsFile* f : {&P, &D})
    if (auto cfg = f->metadata.find("config"); cfg != f->metadata.end()) {
      doc = fmt::format("verify: {}: __metadata__ 'config'", f == &P ? params_path : data_path);
      return cfg->second;
    }
  fail(fmt::format("verify: neither {} nor {} has a 'config' entry in its __metadata__", params_path, data_path));
}

// The answer when the first file given is a generation data file instead of the parameters.
VerifyResult generation_file_first(const BuiltModel& built, const SafetensorsFile& P, const std::string& params_path) {
  VerifyResult r;
  r.not_applicable = true;
  r.model = built.name;
  auto pf = P.metadata.find("params_file");
  r.message = fmt::format("{} is a generation data file; pass the parameters first: seqnet verify {} {}", params_path,
                          pf != P.metadata.end() ? pf->second : std::string("<params file>"), params_path);
  return r;
}

// Fast generation references: the step modes run in float32 on raw buffers.
VerifyResult verify_step_modes(const BuiltModel& built, const SafetensorsFile& P, const SafetensorsFile& D,
                               const std::string& data_path, const VerifyOptions& opt) {
  VerifyResult r;
  Module& model = *built.model;
  model.params().load(P);
  model.set_training(false);
  r.model = model.describe();
  if (opt.dtype != DType::F32) {
    r.not_applicable = true;
    r.message = "the step modes (fast generation) run in float32 only; use --dtype f32";
    return r;
  }
  model.params().store_on(opt.device);  // the steppers run where --device says (their buffers and kernels)
  auto meta_int = [&](const char* key) {
    auto it = D.metadata.find(key);
    check(it != D.metadata.end(), "verify: {} has no '{}' in its __metadata__", data_path, key);
    // metadata values are strings; this one must hold a length / count the step modes loop over
    return parse_int(it->second, fmt::format("verify: {}: __metadata__ '{}'", data_path, key), 1, int64_t(1) << 24);
  };
  const int64_t input_size = meta_int("input_size");
  if (auto* wn = dynamic_cast<WaveNet*>(&model)) {
    WaveNetStepper gen(*wn, step::Weights::F32, opt.device);
    check_generation(gen, D, input_size, wn->config().classes, opt.rtol, opt.atol, r);
  } else if (auto* su = dynamic_cast<SequnetRes*>(&model)) {
    check(su->cycles() == meta_int("cycles"), "verify: {} was made with {} cycles, the model has {}", data_path,
          meta_int("cycles"), su->cycles());
    SequnetResStepper gen(*su, step::Weights::F32, opt.device);
    check_generation(gen, D, input_size, su->config().num_inputs, opt.rtol, opt.atol, r);
  } else {
    r.not_applicable = true;
    r.message = fmt::format("{} holds step-mode references, but {} has no step mode (WaveNet and the residual "
                            "Seq-U-Net have)",
                            data_path, r.model);
    return r;
  }
  r.passed = all_ok(r.rows);
  return r;
}

// Backbone: the output, then the input gradient of the objective sum(output · R).
void check_backbone(Module& model, const SafetensorsFile& D, const VerifyOptions& opt, VerifyResult& r) {
  const DType dt = opt.dtype;
  // the float input whose gradient is checked
  Variable objective_input(D.get("input").to(dt).to(opt.device).clone(), true);
  Variable output = model.forward(objective_input);
  r.rows.push_back(compare("output", output.data(), D.get("output"), opt.rtol, opt.atol));
  output.backward(D.get("R").to(dt).to(opt.device));
  r.rows.push_back(compare("grad_input", objective_input.grad(), D.get("grad_input"), opt.rtol, opt.atol));
}

// Character language model: the logits, then the mean cross-entropy over the output positions (and its backward).
void check_char_language(Module& model, const SafetensorsFile& D, const VerifyOptions& opt, VerifyResult& r) {
  Tensor tokens = D.get("input_tokens").to(opt.device);
  Variable output = model.forward(Variable(tokens));
  r.rows.push_back(compare("logits", output.data(), D.get("logits"), opt.rtol, opt.atol));
  const int64_t t_out = output.size(1);
  Tensor targets = D.get("target_tokens").slice(1, -t_out, INT64_MAX).contiguous().to(opt.device);
  Variable loss = cross_entropy(transpose(output, 1, 2), targets, Reduction::Mean);
  r.rows.push_back(compare("loss", loss.data().reshape({1}), D.get("loss"), opt.rtol, opt.atol));
  loss.backward();
}

// Polyphonic music: the logits, the summed BCE with logits (and its backward) and the NLL per time step.
void check_poly_music(Module& model, const SafetensorsFile& D, const VerifyOptions& opt, VerifyResult& r) {
  const DType dt = opt.dtype;
  Tensor x = D.get("input").to(dt).to(opt.device).unsqueeze(0);
  Variable output = model.forward(Variable(x));
  r.rows.push_back(compare("logits", output.data().squeeze(0), D.get("logits"), opt.rtol, opt.atol));
  Variable target(D.get("target").to(dt).to(opt.device).unsqueeze(0));
  Variable loss = bce_with_logits(output, target, Reduction::Sum);
  r.rows.push_back(compare("loss_sum", loss.data().reshape({1}), D.get("loss_sum"), opt.rtol, opt.atol));
  Variable nll = loss / double(x.size(1));
  r.rows.push_back(compare("nll_per_step", nll.data().reshape({1}), D.get("nll_per_step"), opt.rtol, opt.atol));
  loss.backward();
}

// Forward and backward of the file's objective in opt.dtype; compares outputs and every gradient.
VerifyResult verify_forward_backward(const BuiltModel& built, const SafetensorsFile& P, const SafetensorsFile& D,
                                     const VerifyOptions& opt) {
  VerifyResult r;
  Module& model = *built.model;
  model.params().load(P);
  model.params().store_as(opt.dtype);
  model.params().store_on(opt.device);
  model.set_training(false);
  r.model = model.describe();
  if (built.kind == ModelKind::Backbone) check_backbone(model, D, opt, r);
  else if (built.kind == ModelKind::CharLanguage) check_char_language(model, D, opt, r);
  else check_poly_music(model, D, opt, r);  // PolyMusic
  for (const auto& e : model.params().entries()) {
    const std::string key = "grad." + e.name;
    if (D.contains(key)) r.rows.push_back(compare(key, e.var.grad(), D.get(key), opt.rtol, opt.atol));
    else r.rows.push_back(expect_zero(key, e.var.grad()));
  }
  r.passed = all_ok(r.rows);
  return r;
}

}  // namespace

VerifyResult verify_reference(const std::string& params_path, const std::string& data_path, const VerifyOptions& o) {
  const VerifyOptions opt = with_default_tolerances(o);
  SafetensorsFile P = load_safetensors(params_path);
  SafetensorsFile D = load_safetensors(data_path);
  Generator gen(0);
  std::string config_doc;
  const std::string& config = find_config(P, D, params_path, data_path, config_doc);
  BuiltModel built = build_from_config(config, config_doc, gen);
  if (built.kind == ModelKind::Generation) return generation_file_first(built, P, params_path);
  if (D.contains("step_outputs") || D.contains("save_output")) return verify_step_modes(built, P, D, data_path, opt);
  return verify_forward_backward(built, P, D, opt);
}

void print_verify(std::FILE* out, const VerifyResult& r, const VerifyOptions& opt) {
  fmt::print(out, "model: {}\n", r.model);
  if (r.not_applicable) {
    fmt::print(out, "{}\n", r.message);
    return;
  }
  size_t width = 6;
  for (const auto& row : r.rows) width = std::max(width, row.tensor.size());
  fmt::print(out, "{:<{}}  {:>10}  {:>10}  {:>8}  {}\n", "tensor", width, "max abs", "max rel", "err/tol", "");
  int failed = 0;
  for (const auto& row : r.rows) {
    fmt::print(out, "{:<{}}  {:>10.3e}  {:>10.3e}  {:>8.3f}  {}{}\n", row.tensor, width, row.max_abs, row.max_rel,
               row.worst, row.ok ? "ok" : "FAIL", row.note.empty() ? "" : "  (" + row.note + ")");
    failed += row.ok ? 0 : 1;
  }
  fmt::print(out, "{}: {} of {} tensors within tolerance ({}: |ours − ref| ≤ {:g} + {:g}·|ref|)\n",
             r.passed ? "PASSED" : "FAILED", r.rows.size() - size_t(failed), r.rows.size(), dtype_name(opt.dtype),
             opt.atol < 0 ? (opt.dtype == DType::F64 ? 1e-8 : 1e-6) : opt.atol,
             opt.rtol < 0 ? (opt.dtype == DType::F64 ? 1e-6 : 1e-5) : opt.rtol);
}

}  // namespace seqnet
