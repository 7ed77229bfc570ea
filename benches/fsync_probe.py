#!/usr/bin/env python3
"""What one durable write costs on this disk, the floor under synchronous logging.

    python3 benches/fsync_probe.py [DIR] [WRITES]

In DIR (default: target/), on a preallocated 64 MiB file:

* 1 thread: WRITES times, a 4 KiB pwrite at a random page then fdatasync;
  p50/p99 of each pair, and how many such durable writes a second that makes.
* 8 threads, each its own 4 KiB page and fdatasync on the same file: how many
  durable writes a second together, i.e. whether concurrent flushes overlap.
* 8 threads as a group commit does it: each round, 8 pages written, one
  fdatasync for all of them (what 8 single-point callers can share at best).

Each thread holds one write in flight at a time, as a caller of a synchronous
log_metric does; so N callers can finish at most N writes per flush, and
N / (flush time) bounds their points per second whatever the engine does.
"""
import os
import random
import statistics
import sys
import threading
import time

SIZE = 64 << 20
PAGE = 4096


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round((len(xs) - 1) * q))]


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "target"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    path = os.path.join(d, "fsync-probe.bin")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, 0, SIZE)
        os.fsync(fd)
        buf = os.urandom(PAGE)
        pages = SIZE // PAGE

        lat = []
        t0 = time.perf_counter()
        for _ in range(n):
            t = time.perf_counter()
            os.pwrite(fd, buf, random.randrange(pages) * PAGE)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
        wall = time.perf_counter() - t0
        print(f"1 thread, pwrite 4 KiB + fdatasync: p50 {pct(lat, .5)*1e6:.0f} us, "
              f"p99 {pct(lat, .99)*1e6:.0f} us, mean {statistics.mean(lat)*1e6:.0f} us; "
              f"{n / wall:.0f} durable writes/s")

        def worker(count, out):
            for _ in range(count):
                os.pwrite(fd, buf, random.randrange(pages) * PAGE)
                os.fdatasync(fd)
                out.append(1)

        done = []
        threads = [threading.Thread(target=worker, args=(n // 8, done)) for _ in range(8)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        print(f"8 threads, each pwrite + its own fdatasync: {len(done) / wall:.0f} durable writes/s")

        rounds = n // 8
        lat = []
        t0 = time.perf_counter()
        for _ in range(rounds):
            t = time.perf_counter()
            for _ in range(8):
                os.pwrite(fd, buf, random.randrange(pages) * PAGE)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
        wall = time.perf_counter() - t0
        print(f"group of 8 writes, one fdatasync: p50 {pct(lat, .5)*1e6:.0f} us a group; "
              f"{rounds * 8 / wall:.0f} durable writes/s "
              f"(the ceiling for 8 callers with one write in flight each)")
    finally:
        os.close(fd)
        os.unlink(path)


if __name__ == "__main__":
    main()
