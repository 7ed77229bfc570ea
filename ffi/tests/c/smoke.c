/*
 * Smoke test of the C API as a C program sees it: built by tests/c_smoke.rs
 * with the system `cc` against librunstore_ffi, run with a fresh directory
 * as its only argument. Prints "smoke ok" and exits 0 when every check holds;
 * otherwise prints the failed check to stderr and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runstore.h"

static int failures = 0;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "smoke.c:%d: check failed: %s\n", __LINE__, #cond); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

/* The last error message, in a static buffer. */
static const char *last_error(void) {
    static char buf[512];
    size_t len = 0;
    if (rs_last_error(buf, sizeof buf, &len) != RS_OK) {
        return "(rs_last_error failed)";
    }
    return buf;
}

static const char RECORDS[] =
    "{\"experiment\": \"churn\", \"run_id\": \"00000000000000000000000000000001\","
    " \"metrics\": {\"loss\": [[1, 0.5, 1700000002000], [0, 0.9, 1700000001000]],"
    " \"acc\": [[0, 0.7, 1700000001000]]}}\n"
    "{\"experiment\": \"churn\", \"run_id\": \"00000000000000000000000000000002\","
    " \"metrics\": {\"acc\": [[0, 0.95, 1700000001000]]}}\n";

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: smoke STORE_DIR\n");
        return 2;
    }
    CHECK(strcmp(rs_result_name(RS_BAD_INPUT), "RS_BAD_INPUT") == 0);
    CHECK(strlen(rs_version()) > 0);

    /* NULL handling: statuses, not crashes. */
    rs_store *store = NULL;
    CHECK(rs_store_open(NULL, false, &store) == RS_NULL_ARGUMENT);
    CHECK(strcmp(last_error(), "dir is NULL") == 0);
    CHECK(store == NULL);
    rs_store_free(NULL);
    rs_string_free(NULL);

    rs_result status = rs_store_open(argv[1], false, &store);
    CHECK(status == RS_OK);
    if (status != RS_OK || store == NULL) {
        fprintf(stderr, "rs_store_open: %s: %s\n", rs_result_name(status), last_error());
        return 1;
    }

    uint64_t runs = 0, points = 0;
    status = rs_ingest_jsonl(store, (const uint8_t *)RECORDS, strlen(RECORDS), &runs, &points);
    CHECK(status == RS_OK);
    CHECK(runs == 2);
    CHECK(points == 4);

    char *json = NULL;
    status = rs_search_json(store,
                            "{\"filter\": \"metrics.acc > 0.8\", \"order_by\": [\"metrics.acc DESC\"]}",
                            &json);
    CHECK(status == RS_OK);
    CHECK(json != NULL);
    if (json != NULL) {
        const char *first = "{\"runs\":[{\"run_id\":\"00000000000000000000000000000002\"";
        CHECK(strncmp(json, first, strlen(first)) == 0);
        CHECK(strstr(json, "00000000000000000000000000000001") == NULL);
        CHECK(strstr(json, "\"next_page_token\":null}") != NULL);
        printf("search: %s\n", json);
        rs_string_free(json);
        json = NULL;
    }

    status = rs_history_json(store, "00000000000000000000000000000001", "loss", &json);
    CHECK(status == RS_OK);
    if (json != NULL) {
        CHECK(strcmp(json,
                     "{\"run_id\":\"00000000000000000000000000000001\",\"key\":\"loss\","
                     "\"history\":[[0,0.9,1700000001000],[1,0.5,1700000002000]]}") == 0);
        printf("history: %s\n", json);
        rs_string_free(json);
        json = NULL;
    }

    /* A bad filter: RS_BAD_INPUT, a message with the position, no output. */
    status = rs_search_json(store, "{\"filter\": \"metrics.acc > 'high'\"}", &json);
    CHECK(status == RS_BAD_INPUT);
    CHECK(json == NULL);
    CHECK(strstr(last_error(), "at character 15") != NULL);
    printf("bad filter: %s: %s\n", rs_result_name(status), last_error());

    /* Asking for the length alone, then a truncated copy. */
    size_t len = 0;
    CHECK(rs_last_error(NULL, 0, &len) == RS_OK);
    CHECK(len == strlen(last_error()));
    char small[4];
    CHECK(rs_last_error(small, sizeof small, &len) == RS_OK);
    CHECK(small[3] == '\0' && strlen(small) == 3);

    rs_store_free(store);

    if (failures != 0) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("smoke ok\n");
    return 0;
}
