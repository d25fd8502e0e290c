#include "nodes/node/io_sharing.hpp"

namespace courier::node {
namespace {
/// Set on worker 0's thread: its own enqueues never need to wake it.
thread_local bool tl_io_worker = false;
} // namespace

void io_sharing::coordinator_data::attach(std::shared_ptr<gateway::io_loop> loop) {
  {
    std::lock_guard<std::mutex> guard{lock};
    io = std::move(loop);
  }
  // Worker 0 may wait on cv: it must start running the IO now.
  cv.notify_all();
}

void io_sharing::push(coordinator_data& data, caf::resumable* job) {
  std::shared_ptr<gateway::io_loop> wake;
  {
    std::lock_guard<std::mutex> guard{data.lock};
    data.queue.push_back(job);
    if (data.sleeping > 0) {
      data.cv.notify_one();
    } else if (data.io_blocked && !tl_io_worker) {
      data.io_blocked = false; // one wake-up is enough until it blocks again
      wake = data.io;
    }
  }
  if (wake)
    wake->wake();
}

caf::resumable* io_sharing::pop(coordinator_data& data, worker_data& mine, bool io_worker) {
  if (io_worker)
    tl_io_worker = true;
  std::unique_lock<std::mutex> guard{data.lock};
  for (;;) {
    if (io_worker && data.io) {
      if (!data.queue.empty() && ++mine.jobs_since_io < io_jobs_between_polls) {
        auto* job = data.queue.front();
        data.queue.pop_front();
        return job;
      }
      // Time for the IO: a look without blocking while jobs wait, else
      // the wait for sockets (or for a job from another thread).
      mine.jobs_since_io = 0;
      auto loop = data.io;
      bool block = data.queue.empty();
      data.io_blocked = block;
      guard.unlock();
      auto status = loop->run(block);
      guard.lock();
      data.io_blocked = false;
      if (status == gateway::io_loop::status::closed && data.io == loop)
        data.io.reset();
      continue;
    }
    if (!data.queue.empty()) {
      auto* job = data.queue.front();
      data.queue.pop_front();
      return job;
    }
    ++data.sleeping;
    data.cv.wait(guard);
    --data.sleeping;
  }
}

} // namespace courier::node
