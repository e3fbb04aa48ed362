#include "routing/probe_table.h"

namespace qc::routing {

std::optional<std::uint32_t> ProbeTable::add(const ProbeEntry& e) {
  if (entries_.size() >= capacity_) return std::nullopt;
  std::uint32_t id;
  do {
    id = next_entry_++;
  } while (id == 0 || entries_.count(id) != 0);
  entries_.emplace(id, e);
  return id;
}

std::uint32_t ProbeTable::add_child(std::uint32_t entry, SessionId session) {
  std::uint32_t tag;
  do {
    tag = next_tag_++;
  } while (tag == 0 || children_.count(tag) != 0);
  children_.emplace(tag, ProbeChild{entry, session});
  auto it = entries_.find(entry);
  if (it != entries_.end()) ++it->second.outstanding;
  return tag;
}

Settled ProbeTable::finish(std::uint32_t id, ProbeEntry& e, bool reached) {
  Settled s;
  s.entry_id = id;
  if (e.outstanding > 0) --e.outstanding;
  if (reached && !e.reached) {
    e.reached = true;
    if (e.has_upstream && !e.answered) {
      e.answered = true;
      s.send_reached = true;
    }
  }
  if (e.outstanding == 0) {
    s.complete = true;
    if (e.has_upstream && !e.answered) {
      e.answered = true;
      s.send_dead_end = true;
    }
  }
  s.entry = e;
  if (s.complete) entries_.erase(id);
  return s;
}

std::optional<Settled> ProbeTable::settle(std::uint32_t tag, SessionId session, bool reached) {
  auto c = children_.find(tag);
  if (c == children_.end() || c->second.session != session) return std::nullopt;
  std::uint32_t id = c->second.entry;
  children_.erase(c);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return finish(id, it->second, reached);
}

std::vector<Settled> ProbeTable::settle_session(SessionId session) {
  std::vector<Settled> out;
  std::vector<std::uint32_t> ids;
  for (auto it = children_.begin(); it != children_.end();) {
    if (it->second.session == session) {
      ids.push_back(it->second.entry);
      it = children_.erase(it);
    } else {
      ++it;
    }
  }
  for (std::uint32_t id : ids) {
    auto it = entries_.find(id);
    if (it != entries_.end()) out.push_back(finish(id, it->second, false));
  }
  return out;
}

std::optional<Settled> ProbeTable::expire(std::uint32_t entry, Timestamp now) {
  auto it = entries_.find(entry);
  if (it == entries_.end() || it->second.expiry > now) return std::nullopt;
  for (auto c = children_.begin(); c != children_.end();) {
    if (c->second.entry == entry)
      c = children_.erase(c);
    else
      ++c;
  }
  it->second.outstanding = 1;
  return finish(entry, it->second, false);
}

const ProbeEntry* ProbeTable::find(std::uint32_t entry) const {
  auto it = entries_.find(entry);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace qc::routing
