/*
 * testhook.h (private): crash injection for the crash-safety tests
 * (testhook.c). Used inside libpool and by poold (handlers_vm_run.c), which
 * reaches it through libpool_private_dep; exported from libpool.so under
 * LIBPOOL_PRIVATE (libpool.sym), never part of the public API.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_TESTHOOK_H
#define POOL_TESTHOOK_H

/* When the environment variable POOLD_TEST_CRASH_AT names `point`, the
 * process SIGKILLs itself there, as a power cut would (POOLD_TEST_STOP_AT:
 * SIGSTOPs itself instead; POOLD_TEST_SLOW_AT=POINT:MS sleeps MS ms each
 * time). No effect otherwise. */
void pool_testhook(const char *point);

#endif
