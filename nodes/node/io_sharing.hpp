#pragma once
/// \file
/// A CAF scheduler policy whose first worker also runs the gateway's IO
/// (`--io-threads 0`), so a client frame handed to an actor and the push
/// an actor hands back never cross threads.
///
/// CAF's work sharing (one queue, idle workers wait on a condition
/// variable), except for worker 0 once an io_loop is attached: it takes
/// actor jobs while there are any, runs the ready IO every
/// `io_jobs_between_polls` jobs without blocking, and when no job is left
/// blocks in the IO (epoll) instead of on the condition variable. A job
/// enqueued from another thread (a second worker, the journal's thread,
/// the timer thread) wakes it there through io_loop::wake(); one enqueued
/// from its own thread (an IO handler's send, an actor's) needs no wake:
/// it looks at the queue as soon as the handler returns.
///
/// Measured in bench/README.md ("IO on the CAF worker").

#include "nodes/gateway/gateway.hpp"

#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

namespace courier::node {

/// Actor jobs worker 0 runs before it looks at the IO again while jobs
/// keep coming (each look is an epoll_wait without blocking).
inline constexpr std::size_t io_jobs_between_polls = 32;

class io_sharing : public caf::policy::unprofiled {
public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {}

    /// Worker 0 runs `loop` from now on, until it says closed. Any thread.
    void attach(std::shared_ptr<gateway::io_loop> loop);

    std::mutex lock;
    std::condition_variable cv;
    std::deque<caf::resumable*> queue; ///< bounded by the live actors: each is in it at most once
    std::size_t sleeping = 0;          ///< workers waiting on cv
    std::shared_ptr<gateway::io_loop> io;
    bool io_blocked = false; ///< worker 0 waits in io->run(true)
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
    std::size_t jobs_since_io = 0;
  };

  template <class Coordinator>
  void enqueue(Coordinator* self, caf::resumable* job) {
    push(d(self), job);
  }
  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    push(d(self), job);
  }
  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job);
  }
  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job);
  }
  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    return pop(d(self->parent()), d(self), self->id() == 0);
  }

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker*, UnaryFunction) {}

  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator* self, UnaryFunction f) {
    auto& data = d(self);
    std::unique_lock<std::mutex> guard{data.lock};
    while (!data.queue.empty()) {
      auto* job = data.queue.front();
      data.queue.pop_front();
      f(job);
    }
  }

private:
  static void push(coordinator_data& data, caf::resumable* job);
  static caf::resumable* pop(coordinator_data& data, worker_data& mine, bool io_worker);
};

} // namespace courier::node
