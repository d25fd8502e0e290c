#pragma once
/// \file
/// The node's actor clock: CAF's timer bookkeeping, without a wake-up of the
/// timer thread for every timer an actor sets or cancels.
///
/// CAF 0.17's clock hands every set and cancel to its timer thread through
/// a ring buffer that wakes the thread whenever it was empty, so under load
/// nearly every request timeout and `delayed_send` costs a futex wake-up and
/// a context switch (17% of a node's CPU at 1,500 orders/s, bench/orders).
/// Here callers update the schedule themselves under a mutex, and wake the
/// timer thread only when the new timer is due before the time it sleeps
/// until; cancellations never wake it. Expired timers are shipped outside
/// the lock, so an actor that sets a timer while the thread ships is never
/// blocked for long.
///
/// `node_coordinator<Policy>` is CAF's coordinator with this clock; a node
/// loads it with `use_node_coordinator(cfg, sharing)`.

#include "nodes/gateway/gateway.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace courier::node {

/// Timers shipped per turn of the timer thread before it takes the lock
/// again (keeps callers from waiting behind a long burst).
inline constexpr std::size_t clock_ship_batch_max = 256;

class lazy_clock final : public caf::detail::thread_safe_actor_clock {
public:
  using super = caf::detail::simple_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            std::uint64_t id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         std::uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self,
                           caf::message_id id) override;
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override;
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override;
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override;
  void cancel_all() override;

  /// The timer thread's loop; returns after stop().
  void run();
  /// Ends run(); timers not yet due stay until cancel_all().
  void stop();

  /// Wake-ups of the timer thread so far (for tests).
  std::size_t wakeups() const;

private:
  /// Wakes the timer thread if `t` is before the time it sleeps until.
  void wake_for(time_point t, std::unique_lock<std::mutex>& guard);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  /// When the sleeping timer thread wakes up by itself; time_point::min()
  /// while it is awake (it then sees every change before it sleeps again).
  time_point sleeping_until_ = time_point::min();
  bool stopping_ = false;
  std::size_t wakeups_ = 0;
};

/// CAF's coordinator (workers as `Policy` schedules them) with a lazy_clock.
template <class Policy>
class node_coordinator final : public caf::scheduler::coordinator<Policy> {
public:
  using super = caf::scheduler::coordinator<Policy>;
  using super::super;

  caf::detail::thread_safe_actor_clock& clock() noexcept override { return clock_; }

protected:
  void start() override {
    super::start();
    timer_ = std::thread{[this] {
      this->system().thread_started();
      clock_.run();
      this->system().thread_terminates();
    }};
  }

  void stop() override {
    // Nothing is shipped once the workers are going; what is pending is
    // dropped after they stopped (it may hold the last reference to actors).
    clock_.stop();
    timer_.join();
    super::stop();
    clock_.cancel_all();
  }

private:
  lazy_clock clock_;
  std::thread timer_;
};

/// How node_coordinator's workers take jobs.
enum class worker_policy {
  sharing,    ///< CAF's work sharing
  stealing,   ///< CAF's work stealing
  io_sharing, ///< work sharing, worker 0 also runs the gateway's IO (io_sharing.hpp)
};

/// Makes `cfg`'s actor system use node_coordinator with `workers` instead
/// of CAF's default coordinator.
void use_node_coordinator(caf::actor_system_config& cfg, worker_policy workers);

/// With worker_policy::io_sharing: worker 0 runs `loop` from now on.
void attach_io_loop(caf::actor_system& sys, std::shared_ptr<gateway::io_loop> loop);

} // namespace courier::node
