/* Per-call cost of one synchronous rs_log_metric through the C API.
 *
 *   log_metric STORE_DIR CALLS      prints "c p50_us p99_us mean_us"
 *
 * Built and run by benches/per_call.py against target/release's librunstore_ffi.so. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runstore.h"

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int fail(const char *what) {
  char buf[512];
  size_t len = 0;
  rs_last_error(buf, sizeof buf, &len);
  fprintf(stderr, "error: %s: %s\n", what, buf);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: log_metric STORE_DIR CALLS\n");
    return 2;
  }
  int calls = atoi(argv[2]);
  if (calls < 1) return 2;
  rs_store *store = NULL;
  if (rs_store_open(argv[1], false, &store) != RS_OK) return fail("open");
  uint32_t exp = 0;
  if (rs_experiment_create(store, "bench-c", NULL, &exp) != RS_OK) return fail("experiment");
  char run_id[RS_RUN_ID_SIZE];
  if (rs_run_create(store, exp, "c", NULL, NULL, NULL, NULL, NULL, 0, run_id) != RS_OK) return fail("run");
  double *t = malloc(sizeof(double) * (size_t)calls);
  if (!t) return 1;
  for (int i = 0; i < 50; i++) /* warm-up */
    if (rs_log_metric(store, run_id, "warm", i, 1700000000000, i) != RS_OK) return fail("log");
  double sum = 0;
  for (int i = 0; i < calls; i++) {
    double start = now_us();
    if (rs_log_metric(store, run_id, "loss", 1.0 / (i + 1), 1700000000000 + i, i) != RS_OK) return fail("log");
    t[i] = now_us() - start;
    sum += t[i];
  }
  qsort(t, (size_t)calls, sizeof(double), cmp);
  printf("c %.1f %.1f %.1f\n", t[calls / 2], t[(size_t)(calls * 0.99)], sum / calls);
  free(t);
  rs_store_free(store);
  return 0;
}
