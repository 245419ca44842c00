#include "strata/registry/graph.hpp"

#include <algorithm>
#include <map>

namespace strata::registry {
namespace {

enum class Mark { Unvisited, OnStack, Done };

struct Builder {
  std::vector<Node> nodes;                     // registration order
  std::map<std::string, std::size_t> by_uri;   // uri -> index in nodes
  std::vector<std::vector<std::size_t>> edges; // index -> dependency indices
  std::vector<Mark> marks;
  std::vector<std::size_t> stack;
  std::vector<std::size_t> order;

  void resolve(const std::set<std::string>& disabled) {
    edges.resize(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const auto& reg = nodes[i].entry.registration;
      auto add_edge = [&](std::size_t j) {
        if (j != i && std::find(edges[i].begin(), edges[i].end(), j) == edges[i].end())
          edges[i].push_back(j);
      };
      for (const auto& req : reg.requires_list) {
        if (req == "*") {
          for (std::size_t j = 0; j < nodes.size(); ++j) {
            const auto& other = nodes[j].entry.registration.requires_list;
            if (std::find(other.begin(), other.end(), "*") == other.end())
              add_edge(j);
          }
        } else if (req.size() > 2 && req.compare(req.size() - 2, 2, ".*") == 0) {
          const std::string type = req.substr(0, req.size() - 2);
          for (std::size_t j = 0; j < nodes.size(); ++j)
            if (nodes[j].entry.registration.type == type)
              add_edge(j);
        } else if (req.starts_with(optional_prefix)) {
          // Initialised first when it is there; its absence or failure is this plugin's concern.
          if (auto it = by_uri.find(req.substr(1)); it != by_uri.end())
            add_edge(it->second);
        } else if (auto it = by_uri.find(req); it != by_uri.end()) {
          add_edge(it->second);
          nodes[i].hard_dependencies.push_back(req);
        } else if (!nodes[i].problem) {
          nodes[i].problem =
              not_found("requires " + req + ", which " +
                        (disabled.count(req) ? "is disabled in disabled_plugins"
                                             : "no loaded plugin provides; install the plugin that "
                                               "provides it or remove this plugin"));
        }
      }
    }
  }

  void visit(std::size_t i) {
    marks[i] = Mark::OnStack;
    stack.push_back(i);
    for (std::size_t j : edges[i]) {
      if (marks[j] == Mark::Unvisited) {
        visit(j);
      } else if (marks[j] == Mark::OnStack) {
        report_cycle(j);
      }
    }
    stack.pop_back();
    marks[i] = Mark::Done;
    order.push_back(i);
  }

  // The cycle is the stack from `start` to its top, closed by the edge back to `start`.
  void report_cycle(std::size_t start) {
    auto from = std::find(stack.begin(), stack.end(), start);
    std::string path;
    for (auto it = from; it != stack.end(); ++it)
      path += nodes[*it].entry.registration.uri() + " -> ";
    path += nodes[start].entry.registration.uri();
    for (auto it = from; it != stack.end(); ++it) {
      auto& n = nodes[*it];
      if (!n.problem)
        n.problem = failed_precondition("dependency cycle: " + path +
                                        "; remove one of these requires entries");
    }
  }
};

} // namespace

std::vector<Node> graph(const std::vector<Entry>& entries, const std::set<std::string>& disabled) {
  Builder b;
  for (const auto& e : entries) {
    auto uri = e.registration.uri();
    if (disabled.count(uri) || b.by_uri.count(uri))
      continue;
    b.by_uri[uri] = b.nodes.size();
    b.nodes.push_back(Node{e, std::nullopt, {}, {}});
  }
  b.resolve(disabled);
  b.marks.assign(b.nodes.size(), Mark::Unvisited);
  for (std::size_t i = 0; i < b.nodes.size(); ++i)
    if (b.marks[i] == Mark::Unvisited)
      b.visit(i);

  std::vector<std::size_t> position(b.nodes.size());
  for (std::size_t k = 0; k < b.order.size(); ++k)
    position[b.order[k]] = k;
  std::vector<Node> out;
  out.reserve(b.order.size());
  for (std::size_t i : b.order) {
    Node n = b.nodes[i];
    auto deps = b.edges[i];
    std::sort(deps.begin(), deps.end(),
              [&](std::size_t x, std::size_t y) { return position[x] < position[y]; });
    for (std::size_t j : deps)
      n.dependencies.push_back(b.nodes[j].entry.registration.uri());
    out.push_back(std::move(n));
  }
  return out;
}

} // namespace strata::registry
