#ifndef POINTE_CTESTWATCHDOG_H
#define POINTE_CTESTWATCHDOG_H
#include <spawn.h>

/// Adds "close every descriptor from `lowest` up" to spawn file actions (glibc >= 2.34).
int pointe_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);

/// Starts the test-process watchdog if it is not running yet (it also starts by itself when
/// the test binary loads). Past POINTE_TEST_TIMEOUT_S seconds (default 1800) of the whole test
/// process it prints why and exits with status 124, so a hung test ends the run with the last
/// "Test Case '...' started" line naming it, long before an outer CI limit.
void pointe_test_watchdog_arm(void);

#endif
