#pragma once
// Folder sync as the CLI sets it up from configuration (cmd_sync.cpp), shared by the
// `sync`, `status` and `worker` commands.
#include <string>

#include "cli/context.hpp"
#include "sync/syncer.hpp"

namespace nfl::cli {

sync::SyncOptions sync_options_from(Context& ctx);
Millis takeover_ms(const Config& config); // SYNC_TAKEOVER_SECONDS, else three sync intervals
Json sync_document(const Config& config);
std::string render_sync(const Json& doc, bool colour);
void add_sync_command(CLI::App& app, Context& ctx);

} // namespace nfl::cli
