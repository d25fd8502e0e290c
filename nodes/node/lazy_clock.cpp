#include "nodes/node/lazy_clock.hpp"

#include "core/assert.hpp"
#include "nodes/node/io_sharing.hpp"

#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>

#include <vector>

namespace courier::node {

void lazy_clock::wake_for(time_point t, std::unique_lock<std::mutex>& guard) {
  if (t >= sleeping_until_)
    return;
  sleeping_until_ = time_point::min(); // one wake-up is enough
  ++wakeups_;
  guard.unlock();
  cv_.notify_one();
}

void lazy_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                                      caf::atom_value type, std::uint64_t id) {
  std::unique_lock<std::mutex> guard{mutex_};
  super::set_ordinary_timeout(t, self, type, id);
  wake_for(t, guard);
}

void lazy_clock::set_multi_timeout(time_point t, caf::abstract_actor* self,
                                   caf::atom_value type, std::uint64_t id) {
  std::unique_lock<std::mutex> guard{mutex_};
  super::set_multi_timeout(t, self, type, id);
  wake_for(t, guard);
}

void lazy_clock::set_request_timeout(time_point t, caf::abstract_actor* self,
                                     caf::message_id id) {
  std::unique_lock<std::mutex> guard{mutex_};
  super::set_request_timeout(t, self, id);
  wake_for(t, guard);
}

void lazy_clock::cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) {
  std::lock_guard<std::mutex> guard{mutex_};
  super::cancel_ordinary_timeout(self, type);
}

void lazy_clock::cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) {
  std::lock_guard<std::mutex> guard{mutex_};
  super::cancel_request_timeout(self, id);
}

void lazy_clock::cancel_timeouts(caf::abstract_actor* self) {
  std::lock_guard<std::mutex> guard{mutex_};
  super::cancel_timeouts(self);
}

void lazy_clock::schedule_message(time_point t, caf::strong_actor_ptr receiver,
                                  caf::mailbox_element_ptr content) {
  std::unique_lock<std::mutex> guard{mutex_};
  super::schedule_message(t, std::move(receiver), std::move(content));
  wake_for(t, guard);
}

void lazy_clock::schedule_message(time_point t, caf::group target,
                                  caf::strong_actor_ptr sender, caf::message content) {
  std::unique_lock<std::mutex> guard{mutex_};
  super::schedule_message(t, std::move(target), std::move(sender), std::move(content));
  wake_for(t, guard);
}

void lazy_clock::cancel_all() {
  schedule_map dropped;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    actor_lookup_.clear();
    dropped.swap(schedule_);
  }
  // Released outside the lock: a dropped message may hold the last
  // reference to an actor, whose cleanup may cancel its timeouts here.
}

void lazy_clock::run() {
  std::vector<unique_delayed_event_ptr> due;
  due.reserve(clock_ship_batch_max);
  std::unique_lock<std::mutex> guard{mutex_};
  while (!stopping_) {
    auto t = now();
    if (schedule_.empty() || schedule_.begin()->first > t) {
      sleeping_until_ = schedule_.empty() ? time_point::max() : schedule_.begin()->first;
      if (schedule_.empty())
        cv_.wait(guard);
      else
        cv_.wait_until(guard, sleeping_until_);
      sleeping_until_ = time_point::min();
      continue;
    }
    for (auto i = schedule_.begin();
         i != schedule_.end() && i->first <= t && due.size() < clock_ship_batch_max;) {
      if (i->second->backlink != actor_lookup_.end())
        actor_lookup_.erase(i->second->backlink);
      due.push_back(std::move(i->second));
      i = schedule_.erase(i);
    }
    guard.unlock();
    for (auto& ev : due)
      ship(*ev);
    due.clear(); // may release actors: outside the lock
    guard.lock();
  }
}

void lazy_clock::stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  cv_.notify_one();
}

std::size_t lazy_clock::wakeups() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return wakeups_;
}

void use_node_coordinator(caf::actor_system_config& cfg, worker_policy workers) {
  cfg.module_factories.push_back([workers](caf::actor_system& sys) -> caf::actor_system::module* {
    switch (workers) {
      case worker_policy::sharing:
        return new node_coordinator<caf::policy::work_sharing>(sys);
      case worker_policy::stealing:
        return new node_coordinator<caf::policy::work_stealing>(sys);
      case worker_policy::io_sharing:
        return new node_coordinator<io_sharing>(sys);
    }
    return nullptr;
  });
}

void attach_io_loop(caf::actor_system& sys, std::shared_ptr<gateway::io_loop> loop) {
  auto* coordinator = dynamic_cast<node_coordinator<io_sharing>*>(&sys.scheduler());
  COURIER_ASSERT(coordinator != nullptr);
  coordinator->data().attach(std::move(loop));
}

} // namespace courier::node
