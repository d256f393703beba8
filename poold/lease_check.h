/*
 * lease_check.h: the lease checker, a thread of its own that moves on the
 * deadline of every sanlock pool's LUNs (scsi.h, scsiDeadline) while
 * sanlock shows this host renewing its delta lease in the pool's
 * lockspace. lease_check.c states the rule and its numbers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_LEASE_CHECK_H
#define POOLD_LEASE_CHECK_H

#include "iscsi/scsi.h"

typedef struct poolLeaseChecker poolLeaseChecker;

/* Start the checker and its sanlock caller thread; NULL on error. */
poolLeaseChecker *poold_lease_checker_start(void);
/* Stop it (a sanlock call still stuck is abandoned with its thread). */
void poold_lease_checker_stop(poolLeaseChecker *c);
/* Watch the lockspace ls_name; returns a new reference to its deadline
 * (passed until the first check succeeds), NULL on allocation failure. */
scsiDeadline *poold_lease_checker_add(poolLeaseChecker *c, const char *ls_name);
/* Stop watching it; its deadline stays where it is. */
void poold_lease_checker_remove(poolLeaseChecker *c, const char *ls_name);

#endif
