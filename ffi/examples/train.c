/*
 * A training loop logging into runstore through the C API, step by step,
 * then searching what it logged — as JSON and as an Arrow C stream.
 *
 *   cc -I ffi/include ffi/examples/train.c -L target/release -lrunstore_ffi \
 *      -Wl,-rpath,target/release -o train && ./train runs-db
 *
 * Exits 0 and prints "train ok" when every call did what it should; prints
 * the failing call and the library's message and exits 1 otherwise.
 * ffi/tests/c_example.rs builds it, and runs it under AddressSanitizer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runstore.h"

/* Fails the program with the last error unless `call` returned RS_OK. */
#define TRY(call)                                                            \
    do {                                                                     \
        rs_result status_ = (call);                                          \
        if (status_ != RS_OK) {                                              \
            char message_[512];                                              \
            size_t len_ = 0;                                                 \
            rs_last_error(message_, sizeof message_, &len_);                 \
            fprintf(stderr, "train.c:%d: %s: %s (%s): %s\n", __LINE__, #call, \
                    rs_result_name(status_), rs_last_error_code(), message_); \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "train.c:%d: check failed: %s\n", __LINE__, #cond); \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

static const int64_t T0 = 1700000000000;

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: train STORE_DIR\n");
        return 2;
    }
    rs_store *store = NULL;
    TRY(rs_store_open(argv[1], false, &store));

    uint32_t experiment = 0;
    TRY(rs_experiment_create(store, "mnist", NULL, &experiment));

    /* Two runs of a sweep, each a training loop of 50 steps. */
    const char *lrs[] = {"0.1", "0.01"};
    char run_ids[2][RS_RUN_ID_SIZE];
    for (int trial = 0; trial < 2; trial++) {
        const char *tag_keys[] = {"model"};
        const char *tag_values[] = {"cnn"};
        char name[32];
        snprintf(name, sizeof name, "trial-%d", trial);
        int64_t start = T0 + trial * 100000;
        char *run = run_ids[trial];
        TRY(rs_run_create(store, experiment, name, &start, "ana", NULL, tag_keys,
                          tag_values, 1, run));
        TRY(rs_log_param(store, run, "lr", lrs[trial]));
        TRY(rs_log_input(store, run, "mnist-train", "d41d8cd9", "http",
                         "https://example.org/mnist.tgz", NULL, NULL, "training"));
        for (int64_t step = 0; step < 50; step++) {
            double loss = exp(-0.05 * (double)step * (trial + 1));
            TRY(rs_log_metric(store, run, "loss", loss, start + step, step));
        }
        /* The epoch's summary in one batch. */
        const char *keys[] = {"val_loss", "val_acc"};
        double values[] = {0.3 / (trial + 1), 0.8 + 0.1 * trial};
        int64_t timestamps[] = {start + 60, start + 60};
        int64_t steps[] = {49, 49};
        TRY(rs_log_batch(store, run, keys, values, timestamps, steps, 2, NULL, NULL, 0,
                         NULL, NULL, 0));
        int64_t end = start + 99;
        TRY(rs_run_update(store, run, "FINISHED", &end, NULL));
    }

    /* Search: the better trial first. */
    char *json = NULL;
    TRY(rs_search_json(store,
                       "{\"filter\": \"params.lr = '0.01' and metrics.val_acc > 0.85\","
                       " \"order_by\": [\"metrics.val_acc DESC\"]}",
                       &json));
    CHECK(strstr(json, run_ids[1]) != NULL);
    CHECK(strstr(json, run_ids[0]) == NULL);
    printf("%s\n", json);
    rs_string_free(json);

    /* One run and one history as JSON. */
    TRY(rs_run_get_json(store, run_ids[0], &json));
    CHECK(strstr(json, "\"status\":\"FINISHED\"") != NULL);
    rs_string_free(json);
    TRY(rs_history_json(store, run_ids[0], "loss", &json));
    CHECK(strstr(json, "[49,") != NULL);
    rs_string_free(json);

    /* The same search as an Arrow C stream: count rows and columns. */
    struct ArrowArrayStream stream;
    TRY(rs_search_arrow(store, "{\"order_by\": [\"attributes.start_time ASC\"]}", &stream));
    struct ArrowSchema schema;
    CHECK(stream.get_schema(&stream, &schema) == 0);
    int64_t columns = schema.n_children;
    schema.release(&schema);
    int64_t rows = 0;
    for (;;) {
        struct ArrowArray batch;
        CHECK(stream.get_next(&stream, &batch) == 0);
        if (batch.release == NULL) {
            break; /* end of stream */
        }
        rows += batch.length;
        batch.release(&batch);
    }
    stream.release(&stream);
    CHECK(rows == 2);
    /* 9 attribute columns, 3 metrics, 1 param, 3 tags (model, mlflow.runName, mlflow.user). */
    CHECK(columns >= 9 + 3 + 1 + 1);

    /* A history as an Arrow stream. */
    TRY(rs_history_arrow(store, run_ids[1], "loss", &stream));
    rows = 0;
    for (;;) {
        struct ArrowArray batch;
        CHECK(stream.get_next(&stream, &batch) == 0);
        if (batch.release == NULL) {
            break;
        }
        rows += batch.length;
        batch.release(&batch);
    }
    stream.release(&stream);
    CHECK(rows == 50);

    /* Mistakes are statuses, not crashes. */
    CHECK(rs_log_metric(store, "not-a-run-id", "loss", 1.0, T0, 0) == RS_BAD_INPUT);
    CHECK(rs_log_param(store, run_ids[0], "lr", "0.5") == RS_BAD_INPUT); /* params are immutable */
    CHECK(strcmp(rs_last_error_code(), "INVALID_PARAMETER_VALUE") == 0);
    CHECK(rs_search_json(store, "{\"filter\": \"metrics.loss <\"}", &json) == RS_BAD_INPUT);

    rs_store_free(store);
    CHECK(rs_store_flush(store) == RS_BAD_INPUT); /* a freed handle is refused */
    printf("train ok: %lld runs, %lld columns\n", (long long)2, (long long)columns);
    return 0;
}
