#include "cluster/cluster_fixture.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <hiredis/hiredis.h>

namespace nfl::test {

namespace {

void flatten(const redisReply& r, std::vector<std::string>& out) {
  switch (r.type) {
  case REDIS_REPLY_ARRAY:
    for (std::size_t i = 0; i < r.elements; ++i) {
      flatten(*r.element[i], out);
    }
    break;
  case REDIS_REPLY_INTEGER: out.push_back(std::to_string(r.integer)); break;
  case REDIS_REPLY_NIL: out.emplace_back(); break;
  default: out.emplace_back(r.str, r.len); break;
  }
}

std::string field(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) {
      auto value = line.substr(name.size() + 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) {
        value.pop_back();
      }
      return value;
    }
  }
  return {};
}

} // namespace

LocalCluster::LocalCluster(int node_timeout_ms) {
  for (int i = 0; i < 6; ++i) {
    // The bus port defaults to port + 10000, which may be taken or above 65535. A bus
    // port another process took first (tests run in parallel) is retried with another:
    // RedisServer retries its own port, not this one.
    for (int attempt = 1;; ++attempt) {
      try {
        m_servers.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
            "--cluster-enabled", "yes", "--cluster-port", std::to_string(free_loopback_port()),
            "--cluster-node-timeout", std::to_string(node_timeout_ms), "--appendonly", "yes"}));
        break;
      } catch (const std::runtime_error&) {
        if (attempt == 3) {
          throw;
        }
      }
    }
    m_alive.push_back(true);
  }
  std::string cmd = "redis-cli --cluster create";
  for (const auto& s : m_servers) {
    cmd += " 127.0.0.1:" + std::to_string(s->port());
  }
  cmd += " --cluster-replicas 1 --cluster-yes 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    throw std::runtime_error("popen failed");
  }
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) {
    out.append(buf, n);
  }
  if (::pclose(p) != 0 || out.find("All 16384 slots covered") == std::string::npos) {
    throw std::runtime_error("redis-cli --cluster create failed:\n" + out);
  }
  wait_ready(std::chrono::seconds(30));
}

std::vector<std::string> LocalCluster::command(int index, const std::vector<std::string>& args) const {
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port(index), tv);
  if (!c || c->err) {
    std::string what = c ? c->errstr : "no context";
    if (c) {
      redisFree(c);
    }
    throw std::runtime_error("node " + std::to_string(index) + ": " + what);
  }
  redisSetTimeout(c, tv);
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!r) {
    std::string what = c->errstr;
    redisFree(c);
    throw std::runtime_error("node " + std::to_string(index) + ": " + what);
  }
  std::vector<std::string> out;
  std::string error = r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "";
  if (error.empty()) {
    flatten(*r, out);
  }
  freeReplyObject(r);
  redisFree(c);
  if (!error.empty()) {
    throw std::runtime_error("node " + std::to_string(index) + " " + args.front() + ": " + error);
  }
  return out;
}

int LocalCluster::index_of_port(int p) const {
  for (std::size_t i = 0; i < m_servers.size(); ++i) {
    if (m_servers[i]->port() == p) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

std::vector<LocalCluster::Node> LocalCluster::nodes(int index) const {
  std::vector<Node> out;
  std::istringstream in(command(index, {"CLUSTER", "NODES"}).at(0));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) {
      f.push_back(w);
    }
    if (f.size() < 8) {
      continue;
    }
    Node n;
    n.id = f[0];
    auto colon = f[1].find(':');
    auto at = f[1].find('@');
    n.index = index_of_port(std::stoi(f[1].substr(colon + 1, at - colon - 1)));
    n.master = f[2].find("master") != std::string::npos;
    n.failed = f[2].find("fail") != std::string::npos && f[2].find("fail?") == std::string::npos;
    n.master_id = f[3] == "-" ? "" : f[3];
    for (std::size_t i = 8; i < f.size(); ++i) {
      if (f[i].front() == '[') {
        continue; // a slot being imported/migrated
      }
      auto dash = f[i].find('-');
      int first = std::stoi(f[i].substr(0, dash));
      int last = dash == std::string::npos ? first : std::stoi(f[i].substr(dash + 1));
      n.slots.emplace_back(first, last);
    }
    out.push_back(std::move(n));
  }
  return out;
}

int LocalCluster::owner_of(int slot) const {
  for (std::size_t i = 0; i < m_servers.size(); ++i) {
    if (!m_alive[i]) {
      continue;
    }
    for (const auto& n : nodes(static_cast<int>(i))) {
      for (auto [first, last] : n.slots) {
        if (n.master && !n.failed && first <= slot && slot <= last) {
          return n.index;
        }
      }
    }
    return -1;
  }
  return -1;
}

int LocalCluster::replica_of(int master_index) const {
  auto all = nodes(master_index);
  std::string id;
  for (const auto& n : all) {
    if (n.index == master_index) {
      id = n.id;
    }
  }
  for (const auto& n : all) {
    if (!n.master && n.master_id == id) {
      return n.index;
    }
  }
  return -1;
}

void LocalCluster::kill(int index) {
  m_servers[static_cast<std::size_t>(index)]->kill9();
  m_alive[static_cast<std::size_t>(index)] = false;
}

void LocalCluster::wait_ready(std::chrono::milliseconds limit) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    bool ready = true;
    try {
      for (std::size_t i = 0; i < m_servers.size() && ready; ++i) {
        auto info = command(static_cast<int>(i), {"CLUSTER", "INFO"}).at(0);
        ready = field(info, "cluster_state") == "ok" && field(info, "cluster_known_nodes") == "6";
        auto replication = command(static_cast<int>(i), {"INFO", "replication"}).at(0);
        if (field(replication, "role") == "slave") {
          ready = ready && field(replication, "master_link_status") == "up" &&
                  field(replication, "master_sync_in_progress") == "0";
        }
        last = "node " + std::to_string(i) + ": " + field(info, "cluster_state");
        // Every node lists each master's replica (what CLUSTER SLOTS tells a client,
        // and so whether it WAITs for the replica): gossip may still be announcing it
        // after the replica's own link is up.
        auto view = nodes(static_cast<int>(i));
        for (const auto& m : view) {
          if (!ready || !m.master || m.slots.empty()) {
            continue;
          }
          ready = std::any_of(view.begin(), view.end(),
                              [&](const Node& r) { return !r.master && !r.failed && r.master_id == m.id; });
          if (!ready) {
            last = "node " + std::to_string(i) + " lists no replica of master " + m.id;
          }
        }
      }
    } catch (const std::exception& e) {
      ready = false;
      last = e.what();
    }
    if (ready) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("the cluster did not become ready: " + last);
}

int LocalCluster::wait_converged(int slot, std::chrono::milliseconds limit) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    int owner = -2;
    bool ok = true;
    try {
      for (std::size_t i = 0; i < m_servers.size() && ok; ++i) {
        if (!m_alive[i]) {
          continue;
        }
        auto info = command(static_cast<int>(i), {"CLUSTER", "INFO"}).at(0);
        ok = field(info, "cluster_state") == "ok";
        int seen = -1;
        for (const auto& n : nodes(static_cast<int>(i))) {
          for (auto [first, last_slot] : n.slots) {
            if (n.master && !n.failed && first <= slot && slot <= last_slot) {
              seen = n.index;
            }
          }
        }
        ok = ok && seen >= 0 && (owner == -2 || owner == seen);
        owner = seen;
      }
    } catch (const std::exception& e) {
      ok = false;
      last = e.what();
    }
    if (ok && owner >= 0) {
      return owner;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("the cluster did not converge on slot " + std::to_string(slot) + ": " + last);
}

} // namespace nfl::test
