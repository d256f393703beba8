/*
 * pool-command.h: run an external program from an argv array (never a shell),
 * capture its stdout and stderr, bound its run time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_COMMAND_H
#define POOL_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char **argv;       /* argv[0] is the program path; NULL-terminated */
    char **env_extra;  /* "NAME=value" entries added to the inherited environment */
    int timeout_ms;    /* <= 0: no limit; on expiry the child is SIGKILLed */
    size_t max_output; /* cap for each captured stream; 0 = 16 MiB */
    /* optional: called with each piece of stdout as it arrives (it is
     * captured in res->out all the same), e.g. to follow progress lines */
    void (*on_output)(void *opaque, const char *chunk, size_t len);
    /* optional: asked at least every POOL_COMMAND_CANCEL_POLL_MS while the
     * child runs; true kills the child's process group and
     * pool_command_run fails ("cancelled") */
    bool (*cancel)(void *opaque);
    void *opaque; /* for on_output and cancel */
} poolCommand;

#define POOL_COMMAND_CANCEL_POLL_MS 200

typedef struct {
    int exit_status; /* WEXITSTATUS, or 128+signal if killed */
    char *out;       /* captured stdout, NUL-terminated (caller frees) */
    size_t out_len;
    char *err; /* captured stderr, NUL-terminated (caller frees) */
    size_t err_len;
} poolCommandResult;

/* Run cmd to completion. Returns 0 if the program ran (whatever its exit
 * status; check res->exit_status), -1 with an error set if it could not be
 * started, timed out (POOL_ERR_TIMEOUT) or produced too much output.
 * stdin is /dev/null; all other fds are closed in the child. */
int pool_command_run(const poolCommand *cmd, poolCommandResult *res);
void pool_command_result_clear(poolCommandResult *res);

/* "prog arg 'arg with space'" for logs; caller frees. */
char *pool_command_to_string(char *const *argv);

#endif
