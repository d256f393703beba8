/*
 * iscsi_slowlun_test.h: portal start/stop for iscsi_slowlun_test.c without
 * the target's private iscsi.h (its names clash with libiscsi's).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TESTS_ISCSI_SLOWLUN_TEST_H
#define POOL_TESTS_ISCSI_SLOWLUN_TEST_H

#include "target.h"

/* A portal on 127.0.0.1, on a free port (*port), with `workers` workers. */
void *slowlun_portal_start(tgtInventory *inv, unsigned workers, unsigned *port);
void slowlun_portal_stop(void *p, int grace_ms);

#endif
