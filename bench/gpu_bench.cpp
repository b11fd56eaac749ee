// GPU-vs-CPU figures for docs/performance.md (run by bench/gpu.sh): season Monte Carlo
// seasons/s on 1 and 2 CPU threads and with the CUDA kernel (all host threads doing
// the standings), the kernel's draw rate alone, and training throughput. Prints one
// JSON object. Exits 2 with a message when --require-gpu is given and no device is found.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analytics/data/games.hpp"
#include "analytics/gpu/device.hpp"
#include "analytics/gpu/season_draws.hpp"
#include "analytics/season/simulator.hpp"
#include "analytics/training/dataset.hpp"
#include "analytics/training/model.hpp"

namespace {

using namespace nfl::analytics;
using Json = nlohmann::json;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app("GPU and CPU kernel throughput");
  std::int64_t cpu_seasons = 20'000;
  std::int64_t gpu_seasons = 1'000'000;
  int epochs = 20;
  bool require_gpu = false;
  app.add_option("--cpu-seasons", cpu_seasons, "Seasons per CPU measurement");
  app.add_option("--gpu-seasons", gpu_seasons, "Seasons per CUDA measurement");
  app.add_option("--epochs", epochs, "Training epochs per model");
  app.add_flag("--require-gpu", require_gpu, "Fail when no CUDA device is found");
  CLI11_PARSE(app, argc, argv);

  const gpu::CudaStatus cuda = gpu::cuda_status();
  if (require_gpu && !cuda.available) {
    std::fprintf(stderr, "gpu_bench: no usable CUDA device: %s (build: %s)\n", cuda.reason.c_str(),
                 cuda.build_info.c_str());
    return 2;
  }
  IngestReport report;
  const auto games = read_games_csv(bundled_games_csv(), report);
  season::SimulationModel m;
  m.schedule = season::schedule_for_season(games, 2023);
  m.start_week = 1;
  m.ratings = season::market_ratings(m.schedule);
  m.use_spread_lines = true;
  m.sigma = season::estimate_sigma(games, 2023, 1);

  Json out;
  out["device"] = gpu::device_label(cuda);
  out["cuda"] = gpu::describe(cuda);
  out["host_threads"] = std::thread::hardware_concurrency();
  Json season = Json::object();
  for (const int threads : {1, 2}) {
    season::SimulationOptions o;
    o.simulations = cpu_seasons;
    o.threads = threads;
    const auto r = season::simulate_season(m, o);
    season[fmt::format("cpu_{}_threads_seasons_per_s", threads)] = r.seasons_per_second;
  }
  if (cuda.available) {
    season::SimulationOptions o;
    o.simulations = gpu_seasons;
    o.kernel = season::SimKernel::cuda;
    const auto r = season::simulate_season(m, o);
    season["cuda_seasons_per_s"] = r.seasons_per_second;
    season["cuda_host_threads"] = r.threads;
    season["cuda_draw_wait_s"] = r.draw_seconds;
    // The kernel alone: outcome draws per second, without standings.
    std::vector<gpu::DrawGame> dg;
    for (const auto& g : m.schedule.regular) {
      dg.push_back({static_cast<std::uint8_t>(g.home), static_cast<std::uint8_t>(g.away), 0.45, 0.455});
    }
    const std::int64_t batch = 1 << 20;
    std::vector<std::int8_t> buf(static_cast<std::size_t>(batch) * dg.size());
    gpu::CudaSeasonDrawer drawer(1, dg, batch);
    drawer.draw(0, batch, buf.data()); // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    const int reps = 8;
    for (int i = 0; i < reps; ++i) {
      drawer.draw(static_cast<std::int64_t>(i) * batch, batch, buf.data());
    }
    season["cuda_draw_only_seasons_per_s"] = static_cast<double>(reps * batch) / seconds_since(t0);
  }
  const double cpu2 = season["cpu_2_threads_seasons_per_s"].get<double>();
  if (season.contains("cuda_seasons_per_s") && cpu2 > 0) {
    season["cuda_vs_cpu2"] = season["cuda_seasons_per_s"].get<double>() / cpu2;
  }
  out["season"] = season;

  Json training = Json::object();
  const auto data = training::build_training_data(games, {}, 2024);
  for (const auto kind : {training::ModelKind::logistic, training::ModelKind::mlp}) {
    const training::Model model(kind, static_cast<int>(data.train_x.cols()), 16);
    training::TrainOptions o;
    o.epochs = epochs;
    training::TrainState s = training::initial_state(model, o);
    const auto t0 = std::chrono::steady_clock::now();
    training::train(model, data.train_x, data.train_y, data.valid_x, data.valid_y, o, s);
    const double secs = seconds_since(t0);
    training[training::to_string(kind)] = {
        {"device", "cpu"},
        {"samples_per_s", static_cast<double>(data.train_x.rows()) * epochs / secs},
        {"final_train_loss", s.history.back().train_loss},
        {"final_valid_loss", s.history.back().valid_loss}};
  }
  training["train_rows"] = data.train_x.rows();
  training["features"] = data.train_x.cols();
  out["training"] = training;
  std::cout << out.dump(2) << "\n";
  return 0;
}
