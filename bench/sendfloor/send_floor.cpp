// The kernel's floor under the fan-out benchmark: the server CPU one
// loopback TCP send of a push-sized frame costs when a program does nothing
// else. N connections to ourselves; a reader thread (CPU 0) drains them with
// epoll; the sender (CPU 1) writes one frame per send, round-robin, paced at
// RATE sends/s in 1 ms ticks, optionally GATHER frames per send to the same
// connection. Reports the process's CPU (utime + stime, as pload measures a
// server) minus the reader's, per send and per frame. Both ends live in this
// process, so N is bounded by half the descriptor limit (9,000 by default:
// the benchmark's 10,000 customer sessions, give or take, under a 20,000
// limit).
//
//   send_floor [--conns N=9000] [--rate R=50000] [--bytes B=110]
//              [--gather G=1] [--secs S=8]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& v) { return double(v.tv_sec) + double(v.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

double now_s() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % int(std::thread::hardware_concurrency()), &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

long arg(int argc, char** argv, const char* name, long def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0)
      return std::atol(argv[i + 1]);
  return def;
}

} // namespace

int main(int argc, char** argv) {
  const long conns = arg(argc, argv, "--conns", 9000);
  const long rate = arg(argc, argv, "--rate", 50000);
  const long bytes = arg(argc, argv, "--bytes", 110);
  const long gather = arg(argc, argv, "--gather", 1);
  const long secs = arg(argc, argv, "--secs", 8);
  if (conns < 1 || rate < 1 || bytes < 1 || gather < 1 || secs < 1) {
    std::fprintf(stderr, "send_floor: every argument must be >= 1\n");
    return 2;
  }
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  // Two descriptors per connection; root may raise the hard limit too.
  rlim_t need = rlim_t(2 * conns + 64);
  nofile.rlim_cur = std::max(nofile.rlim_cur, std::min(need, nofile.rlim_max));
  if (need > nofile.rlim_max) {
    rlimit raised{need, need};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      nofile = raised;
  }
  setrlimit(RLIMIT_NOFILE, &nofile);
  if (rlim_t(2 * conns + 64) > nofile.rlim_cur) {
    std::fprintf(stderr, "send_floor: %ld connections need %ld descriptors; the limit is %lu\n",
                 conns, 2 * conns + 64, static_cast<unsigned long>(nofile.rlim_cur));
    return 2;
  }

  int lst = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (lst < 0 || bind(lst, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(lst, 4096) != 0)
    die("listen");
  socklen_t len = sizeof addr;
  getsockname(lst, reinterpret_cast<sockaddr*>(&addr), &len);

  std::vector<int> out, in;
  for (long i = 0; i < conns; ++i) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      die("connect (raise ulimit -n?)");
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int a = accept(lst, nullptr, nullptr);
    if (a < 0)
      die("accept");
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    out.push_back(a); // the server side writes, like a gateway
    in.push_back(c);
  }

  std::atomic<bool> stop{false};
  std::atomic<double> reader_cpu{0};
  std::atomic<unsigned long long> received{0};
  std::thread reader([&] {
    pin(0);
    int ep = epoll_create1(0);
    for (int fd : in) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    std::vector<epoll_event> evs(1024);
    char buf[65536];
    double start = thread_cpu_s();
    while (!stop.load(std::memory_order_relaxed)) {
      int n = epoll_wait(ep, evs.data(), int(evs.size()), 50);
      for (int i = 0; i < n; ++i) {
        auto r = read(evs[i].data.fd, buf, sizeof buf);
        if (r > 0)
          received.fetch_add(std::uint64_t(r), std::memory_order_relaxed);
      }
    }
    reader_cpu = thread_cpu_s() - start;
  });

  pin(1);
  std::string frame(std::size_t(bytes), 'x');
  std::vector<iovec> iov(std::size_t(gather), iovec{frame.data(), frame.size()});
  const double tick = 0.001;
  const double per_tick = double(rate) / 1000.0 / double(gather);
  double owed = 0;
  unsigned long long sends = 0;
  std::size_t next = 0;
  double t0 = now_s(), cpu0 = process_cpu_s(), self0 = thread_cpu_s();
  for (double t = t0; t - t0 < double(secs); t += tick) {
    owed += per_tick;
    while (owed >= 1) {
      owed -= 1;
      if (writev(out[next], iov.data(), int(iov.size())) < 0)
        die("writev");
      ++sends;
      next = (next + 1) % out.size();
    }
    double wait = t + tick - now_s();
    if (wait > 0)
      usleep(useconds_t(wait * 1e6));
  }
  double wall = now_s() - t0, sender = thread_cpu_s() - self0;
  double process = process_cpu_s() - cpu0;
  stop = true;
  reader.join();
  double server = process - reader_cpu.load();
  std::printf("send_floor conns=%ld bytes=%ld gather=%ld sends_per_s=%.0f frames_per_s=%.0f "
              "server_cpu_pct=%.1f sender_thread_cpu_pct=%.1f us_per_send=%.2f "
              "us_per_frame=%.2f reader_cpu_pct=%.1f received_mb=%.1f\n",
              conns, bytes, gather, double(sends) / wall, double(sends * gather) / wall,
              100 * server / wall, 100 * sender / wall, 1e6 * server / double(sends),
              1e6 * server / double(sends * gather), 100 * reader_cpu.load() / wall,
              double(received.load()) / 1e6);
  return 0;
}
