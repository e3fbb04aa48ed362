#include "routing/circuit_table.h"

namespace qc::routing {

Result<Label> CircuitTable::allocate_label(SessionId session, Label lo, Label hi) {
  if (lo == 0 || hi < lo || hi > kMaxLabel) return Err(Errc::kInvalidArgument, "label range");
  Label& cur = cursor_[session];
  if (cur < lo || cur > hi) cur = lo;
  // Round robin, so a freed label is reused as late as possible.
  const std::uint32_t span = static_cast<std::uint32_t>(hi - lo) + 1;
  for (std::uint32_t i = 0; i < span; ++i) {
    Label l = cur;
    cur = (cur == hi) ? lo : static_cast<Label>(cur + 1);
    if (index_.count(Key{session, l}) == 0) return l;
  }
  return Err(Errc::kLimit, "no free label on session");
}

Result<CircuitHandle> CircuitTable::add(const CircuitEntry& e) {
  if (count_ >= capacity_) return Err(Errc::kLimit, "circuit table full");
  if (e.back.present() && index_.count(Key{e.back.session, e.back.label}))
    return Err(Errc::kExists, "label in use");
  if (e.fwd.present() && index_.count(Key{e.fwd.session, e.fwd.label}))
    return Err(Errc::kExists, "label in use");
  CircuitHandle h;
  if (!free_.empty()) {
    h = free_.back();
    free_.pop_back();
  } else {
    h = static_cast<CircuitHandle>(slots_.size());
    slots_.emplace_back();
  }
  slots_[h] = e;
  slots_[h].in_use = true;
  if (e.back.present()) index_[Key{e.back.session, e.back.label}] = h;
  if (e.fwd.present()) index_[Key{e.fwd.session, e.fwd.label}] = h;
  ++count_;
  return h;
}

void CircuitTable::set_side(CircuitHandle h, bool fwd, CircuitSide side) {
  CircuitEntry* e = get(h);
  if (!e) return;
  CircuitSide& s = fwd ? e->fwd : e->back;
  if (s.present()) index_.erase(Key{s.session, s.label});
  s = side;
  if (s.present()) index_[Key{s.session, s.label}] = h;
}

void CircuitTable::remove(CircuitHandle h) {
  CircuitEntry* e = get(h);
  if (!e) return;
  if (e->back.present()) index_.erase(Key{e->back.session, e->back.label});
  if (e->fwd.present()) index_.erase(Key{e->fwd.session, e->fwd.label});
  *e = CircuitEntry{};
  free_.push_back(h);
  --count_;
}

CircuitEntry* CircuitTable::get(CircuitHandle h) {
  return h < slots_.size() && slots_[h].in_use ? &slots_[h] : nullptr;
}
const CircuitEntry* CircuitTable::get(CircuitHandle h) const {
  return h < slots_.size() && slots_[h].in_use ? &slots_[h] : nullptr;
}

std::optional<CircuitHandle> CircuitTable::lookup(SessionId session, Label label) const {
  auto it = index_.find(Key{session, label});
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::optional<CircuitSide> CircuitTable::forward(SessionId session, Label label) const {
  auto it = index_.find(Key{session, label});
  if (it == index_.end()) return std::nullopt;
  const CircuitEntry& e = slots_[it->second];
  if (e.state != CircuitState::kEstablished || e.role != CircuitRole::kRelay) return std::nullopt;
  if (e.back.session == session && e.back.label == label) return e.fwd;
  return e.back;
}

std::vector<CircuitHandle> CircuitTable::on_session(SessionId session) const {
  std::vector<CircuitHandle> out;
  for (CircuitHandle h = 0; h < slots_.size(); ++h) {
    const CircuitEntry& e = slots_[h];
    if (!e.in_use) continue;
    if ((e.back.present() && e.back.session == session) ||
        (e.fwd.present() && e.fwd.session == session))
      out.push_back(h);
  }
  return out;
}

}  // namespace qc::routing
