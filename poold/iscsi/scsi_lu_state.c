/*
 * scsi_lu_state.c: an LU's run-time state that poold and the transport
 * change while commands run: capacity (read lock-free by the I/O paths),
 * write protection, the write fence that keeps writes out while this
 * host does not hold the volume's lease, and the deadline after which the
 * LU fences itself (scsi.h).
 *
 * It sits below the command sets (SBC reads capacity and asks whether the
 * fence holds) and the dispatcher (which counts writes past the fence);
 * of the SCSI files it calls only scsi_nexus.c (a capacity change is a
 * unit attention).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <time.h>

#include "pool-util.h"
#include "scsi_internal.h"

uint64_t scsi_lu_nblocks(const scsiLu *lu)
{
    return __atomic_load_n(&lu->nblocks, __ATOMIC_ACQUIRE);
}

uint64_t scsi_lu_get_capacity(const scsiLu *lu)
{
    return scsi_lu_nblocks(lu);
}

void scsi_lu_set_capacity(scsiLu *lu, uint64_t nblocks)
{
    pthread_mutex_lock(&lu->lock);
    if (nblocks != lu->nblocks) {
        __atomic_store_n(&lu->nblocks, nblocks, __ATOMIC_RELEASE);
        scsi_ua_all_locked(lu, NULL, ASC_PARAMETERS_CHANGED, ASCQ_CAPACITY_CHANGED);
    }
    pthread_mutex_unlock(&lu->lock);
}

void scsi_lu_set_write_protect(scsiLu *lu, bool wp)
{
    __atomic_store_n(&lu->wp, wp, __ATOMIC_RELEASE);
}

bool scsi_lu_write_protected(const scsiLu *lu)
{
    return lu->cfg.read_only || __atomic_load_n(&lu->wp, __ATOMIC_ACQUIRE);
}

bool scsi_lu_set_fence(scsiLu *lu, scsiFence fence)
{
    pthread_mutex_lock(&lu->fence_lock);
    __atomic_store_n(&lu->fence, (int)fence, __ATOMIC_SEQ_CST);
    /* a new fence is checked at the first write, not after the pause */
    lu->fence_checked_ms = 0;
    pthread_mutex_unlock(&lu->fence_lock);
    if (fence == SCSI_FENCE_OFF)
        return true;
    /* Writes count themselves in before they look at the fence
     * (scsi_cmd_exec), and this looks at the count after setting it: a
     * write either sees the fence or is counted here. */
    int64_t until = pool_monotonic_ms() + SCSI_FENCE_DRAIN_MS;
    while (__atomic_load_n(&lu->writes, __ATOMIC_SEQ_CST) > 0) {
        if (pool_monotonic_ms() >= until)
            return false;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return true;
}

bool scsi_lu_fenced(const scsiLu *lu)
{
    return __atomic_load_n(&lu->fence, __ATOMIC_SEQ_CST) != SCSI_FENCE_OFF;
}

bool scsi_lu_fence_holds(scsiLu *lu)
{
    int f = __atomic_load_n(&lu->fence, __ATOMIC_SEQ_CST);
    if (f == SCSI_FENCE_OFF)
        return false;
    if (f == SCSI_FENCE_HARD || !lu->cfg.fence_check)
        return true;
    /* The lease may have come without poold hearing of it yet (a VM's
     * QEMU got it from libvirt's lock manager as it started): ask, at a
     * bounded rate, and let the writes through once this host holds it.
     * Writes arriving meanwhile wait for the answer rather than fail. */
    pthread_mutex_lock(&lu->fence_lock);
    f = __atomic_load_n(&lu->fence, __ATOMIC_SEQ_CST);
    uint64_t now = (uint64_t)pool_monotonic_ms();
    if (f == SCSI_FENCE_SOFT &&
        (lu->fence_checked_ms == 0 || now - lu->fence_checked_ms >= SCSI_FENCE_CHECK_MS)) {
        lu->fence_checked_ms = now ? now : 1;
        if (lu->cfg.fence_check(lu->cfg.fence_ctx)) {
            __atomic_store_n(&lu->fence, SCSI_FENCE_OFF, __ATOMIC_SEQ_CST);
            f = SCSI_FENCE_OFF;
        }
    }
    pthread_mutex_unlock(&lu->fence_lock);
    return f != SCSI_FENCE_OFF;
}

struct scsiDeadline {
    int64_t until_ms; /* CLOCK_BOOTTIME ms; atomic */
    int refs;         /* atomic */
};

scsiDeadline *scsi_deadline_new(void)
{
    scsiDeadline *d = calloc(1, sizeof(*d));
    if (d)
        d->refs = 1;
    return d;
}

scsiDeadline *scsi_deadline_ref(scsiDeadline *d)
{
    if (d)
        __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
    return d;
}

void scsi_deadline_unref(scsiDeadline *d)
{
    if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(d);
}

void scsi_deadline_set(scsiDeadline *d, int64_t until_ms)
{
    __atomic_store_n(&d->until_ms, until_ms, __ATOMIC_SEQ_CST);
}

int64_t scsi_deadline_get(const scsiDeadline *d)
{
    return __atomic_load_n(&d->until_ms, __ATOMIC_SEQ_CST);
}

int64_t scsi_deadline_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void scsi_lu_set_deadline_on(scsiLu *lu, bool on)
{
    __atomic_store_n(&lu->deadline_on, on && lu->cfg.deadline, __ATOMIC_SEQ_CST);
}

bool scsi_lu_deadline_passed(const scsiLu *lu)
{
    if (!__atomic_load_n(&lu->deadline_on, __ATOMIC_SEQ_CST))
        return false;
    return scsi_deadline_now_ms() >= scsi_deadline_get(lu->cfg.deadline);
}

bool scsi_lu_map_stale(const scsiLu *lu)
{
    if (!lu->cfg.map_deadline)
        return false;
    return scsi_deadline_now_ms() >= scsi_deadline_get(lu->cfg.map_deadline);
}
