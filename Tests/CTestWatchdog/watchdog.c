#define _GNU_SOURCE
#include "CTestWatchdog.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int pointe_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;
static long watchdog_limit_seconds = 1800;

static void *watchdog_main(void *unused) {
    (void)unused;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        sleep(5);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= watchdog_limit_seconds) {
            fflush(stdout);
            fprintf(stderr,
                    "\npointe test watchdog: the test process has run for %ld s (limit POINTE_TEST_TIMEOUT_S=%ld); "
                    "a test is stuck: the last \"Test Case '...' started\" line above names it. Exiting with status 124.\n",
                    (long)(now.tv_sec - start.tv_sec), watchdog_limit_seconds);
            fflush(stderr);
            _exit(124);
        }
    }
    return NULL;
}

static void watchdog_start(void) {
    const char *text = getenv("POINTE_TEST_TIMEOUT_S");
    if (text && atol(text) > 0) watchdog_limit_seconds = atol(text);
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_create(&thread, &attributes, watchdog_main, NULL);
    pthread_attr_destroy(&attributes);
}

void pointe_test_watchdog_arm(void) { pthread_once(&watchdog_once, watchdog_start); }

__attribute__((constructor)) static void watchdog_at_load(void) { pointe_test_watchdog_arm(); }
