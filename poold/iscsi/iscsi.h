/*
 * iscsi.h: the iSCSI transport of the embedded target (RFC 7143).
 *
 * Public part (poold): start a portal (one listening address, one portal
 * group tag) serving every target of an inventory, and stop it cleanly.
 * Several portals may share one inventory; SendTargets lists every running
 * portal of that inventory, so initiators see all paths (multipath).
 *
 * Ownership: the portal keeps a pointer to cfg->inv (not a copy); the
 * inventory must outlive the portal. iscsi_portal_stop() frees the portal.
 *
 * The second half of this header is private to iscsi_*.c (sessions,
 * connections, tasks) and is not part of poold's interface.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TARGET_ISCSI_H
#define POOL_TARGET_ISCSI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi_chap.h"
#include "iscsi_pdu.h"
#include "iscsi_text.h"
#include "scsi.h"
#include "target.h"

typedef struct iscsiPortal iscsiPortal;

typedef struct {
    const char *address; /* IPv4 or IPv6 literal; NULL = "0.0.0.0" */
    uint16_t port;       /* 0 = 3260 */
    uint16_t tpgt;       /* portal group tag (1 if 0) */
    tgtInventory *inv;
    unsigned max_sessions;   /* logged-in sessions (discovery too); 0 = 256 */
    unsigned workers;        /* threads executing media commands; 0 = 8 */
    unsigned queue_depth;    /* CmdSN window per session; 0 = 64 */
    unsigned nop_interval_s; /* idle time before a NOP-In ping; 0 = 10 */
    unsigned nop_timeout_s;  /* ping unanswered this long: drop; 0 = 30 */
    const char *advertise;   /* address put in TargetAddress ("host:port"),
                              * NULL = the listening address */
    /* pre-login budget (iscsi_portal.c): connections not yet logged in
     * (0 = 64), of those from one address (0 = 16); seconds from accept to
     * the full feature phase (0 = 5) and to the first Login Request (0 = 2) */
    unsigned max_logins;
    unsigned max_logins_per_source;
    unsigned login_timeout_s;
    unsigned first_pdu_timeout_s;
} iscsiPortalConfig;

/* Bind, listen and start accepting. NULL with a poolError on failure
 * (address in use, bad address...). */
iscsiPortal *iscsi_portal_start(const iscsiPortalConfig *cfg);
/* Ask every session to log out (Async Message, AsyncEvent 1, Parameter3 =
 * grace seconds), wait up to grace_ms for them, drop the rest, join every
 * thread and free the portal. Returns within grace_ms plus about a second
 * even with I/O in flight. */
void iscsi_portal_stop(iscsiPortal *p, int grace_ms);
/* Port actually bound (useful with port 0 in tests). */
uint16_t iscsi_portal_port(const iscsiPortal *p);
/* Number of sessions in full feature phase. */
size_t iscsi_portal_session_count(iscsiPortal *p);
/* After an inventory change: drop every session logged in to iqn (target
 * removed, or ACL/CHAP tightened: the initiators must log in again). LUN
 * additions/removals need no call: sessions notice the generation. */
void iscsi_portal_drop_target(iscsiPortal *p, const char *iqn);
/* Drop the sessions of target iqn that have used LUN lun (the LU knows
 * their I_T nexus); returns how many were asked to go. They end
 * asynchronously, like iscsi_portal_drop_target's. */
size_t iscsi_portal_drop_lun(iscsiPortal *p, const char *iqn, uint64_t lun);

/* After an ACL or CHAP change of target iqn: end every session of the portal
 * logged in to it that no longer qualifies (initiator off the ACL, or logged
 * in under CHAP settings that changed; tgt_session_check). Each is closed at
 * once (its queued commands aborted, none answered) and logged with its
 * initiator and the reason. Returns how many were ended. */
size_t iscsi_portal_revoke(iscsiPortal *p, const char *iqn);

/* ======================================================================
 * Private to iscsi_*.c
 * ====================================================================== */

#define ISCSI_MAX_TASKS       256 /* table size per connection (>= queue depth) */
#define ISCSI_CDB_MAX         255
#define ISCSI_MAX_TASK_BUF    (64u << 20) /* largest single transfer we buffer */
#define ISCSI_DEFAULT_BUF     (1u << 20)
#define ISCSI_LOGIN_MAX_TEXT  65536
#define ISCSI_PDU_TIMEOUT_MS  30000 /* a stalled PDU receive or send gives up */
#define ISCSI_MAX_R2T_TRACK   16
#define ISCSI_DEFAULT_WORKERS 8
#define ISCSI_MAX_FREE_BUFS   40          /* task buffers a connection keeps for reuse */
#define ISCSI_INBUF_SIZE      (64u << 10) /* receive read-ahead per connection */
#define ISCSI_INBUF_DIRECT    (16u << 10) /* reads this large bypass it */
#define ISCSI_LAT_SLOTS       8           /* LUs whose latency a connection tracks */
#ifndef ISCSI_INLINE_MAX_US               /* tests build with 0: every media command to a worker */
#define ISCSI_INLINE_MAX_US 60            /* mean latency for running on the reader */
#endif
#define ISCSI_INLINE_MAX_XFER (128u << 10) /* larger transfers: always a worker */

/*
 * Concurrency of the full feature phase (details in iscsi_conn.c,
 * iscsi_task.c and iscsi_worker.c):
 *   - the connection's reader thread parses every PDU, collects Data-Out
 *     and runs the commands that never touch the backing store itself;
 *   - commands that do (READ, WRITE, SYNC CACHE, ...) are queued to the
 *     portal's worker pool once all their Data-Out is in; a worker executes
 *     the command and sends its Data-In and response;
 *   - every send takes the connection's tx_lock (one task's Data-In PDUs
 *     under one hold), which assigns StatSN in wire order;
 *   - the task table and the buffer free list are guarded by task_lock.
 * Lock order: task_lock -> workers lock; tx_lock is never held together
 * with either.
 */
typedef struct iscsiWorkers iscsiWorkers;
typedef struct iscsiSession iscsiSession;
typedef struct iscsiConn iscsiConn;

typedef struct {
    uint32_t ttt;
    uint32_t offset;
    uint32_t len;
    uint32_t got;
    uint32_t next_datasn;
} iscsiR2t;

typedef struct iscsiBuf {
    uint8_t *data;
    size_t cap;
    struct iscsiBuf *next;
} iscsiBuf;

/* Task states. FREE: slot unused. RX: owned by the reader (collecting
 * Data-Out, or running inline). QUEUED: handed to the workers (in the queue
 * or executing). ABORTED: was QUEUED, then aborted: the worker releases it
 * without a response. RESPONDING: a worker sends its Data-In/response; the
 * initiator may reuse the ITT as soon as it sees the response, so the reader
 * waits for such a slot to become FREE instead of calling it a duplicate.
 * Transitions: FREE->RX (reader, task_lock), RX->QUEUED (reader),
 * QUEUED->RESPONDING (worker, CAS), QUEUED->ABORTED (reader, CAS under
 * task_lock), any->FREE (the owner, under task_lock, signalling task_cond).
 * The two CAS make "answer" and "abort" exclusive without a lock. */
typedef enum {
    ISCSI_TASK_FREE = 0,
    ISCSI_TASK_RX,
    ISCSI_TASK_QUEUED,
    ISCSI_TASK_ABORTED,
    ISCSI_TASK_RESPONDING,
} iscsiTaskState;

typedef struct iscsiTask {
    _Atomic iscsiTaskState state;
    struct iscsiTask *qnext; /* worker queue link (workers lock) */
    iscsiConn *conn;
    unsigned lat_slot; /* iscsiConn.lat entry of its LU (media commands) */
    uint32_t itt;
    uint32_t cmdsn;
    uint8_t lun_raw[8];
    uint64_t lun;
    scsiLu *lu; /* reference, NULL for a LUN that does not exist */
    scsiCmd cmd;
    uint8_t cdb[ISCSI_CDB_MAX + 1];
    iscsiBuf *buf;
    uint32_t edtl;
    uint32_t xfer_len;  /* Data-Out bytes we keep: min(EDTL, what the CDB needs) */
    uint32_t unsol_len; /* unsolicited bytes to expect (immediate + Data-Out) */
    uint32_t unsol_got;
    uint32_t unsol_datasn;
    bool unsol_done;
    uint32_t solicited; /* bytes [unsol_len, solicited) asked for by R2T */
    uint32_t sol_got;
    uint32_t r2tsn;
    iscsiR2t r2t[ISCSI_MAX_R2T_TRACK];
    unsigned nr2t;
    bool write;
} iscsiTask;

struct iscsiSession {
    iscsiSession *next; /* registry link */
    iscsiPortal *portal;
    uint16_t tsih;
    uint8_t isid[6];
    iscsiParams params;
    char target[ISCSI_NAME_MAX + 1];
    char initiator[ISCSI_NAME_MAX + 1];
    scsiNexus nexus;
    iscsiConn *conn; /* ERL 0, MaxConnections=1: exactly one */
    /* written by the reader thread only; read by senders (workers) */
    _Atomic uint32_t exp_cmdsn;
    uint32_t queue_depth;
    struct {
        uint64_t lun;
        scsiLu *lu;
    } * seen;
    size_t nseen, capseen;
    uint64_t generation;
    uint64_t auth_epoch; /* CHAP settings it logged in under (tgt_login_check) */
    bool registered;
};

typedef enum {
    ISCSI_CONN_LOGIN,
    ISCSI_CONN_FULL,
    ISCSI_CONN_CLOSING,
} iscsiConnState;

/* Where a connection stands against the portal's pre-login budget
 * (iscsi_portal.c). PRELOGIN -> DROPPED (accept thread, CAS: dropped to
 * make room) or PRELOGIN -> ADMITTED (connection thread, CAS, before its
 * session is registered). The CAS makes the two exclusive: a connection
 * that won ADMITTED is never dropped for pre-login pressure, and one that
 * was dropped never becomes a session. */
typedef enum {
    ISCSI_ADMIT_PRELOGIN = 0,
    ISCSI_ADMIT_DROPPED,
    ISCSI_ADMIT_ADMITTED,
} iscsiAdmit;

struct iscsiConn {
    iscsiConn *next; /* portal list */
    iscsiPortal *portal;
    int fd;
    pthread_t thread;
    atomic_bool done; /* thread finished, may be joined */
    atomic_bool stop; /* asked to stop (reinstatement, portal stop) */
    char peer[80];
    char local[80];
    uint8_t src[17]; /* address family + address: the per-source budget's key */
    _Atomic iscsiAdmit admit;
    _Atomic uint64_t progress_ms; /* accept, then each complete Login Request */
    _Atomic iscsiConnState state; /* read by the stopping thread and senders */
    uint16_t cid;
    iscsiSession *sess;
    iscsiParams params;
    pthread_mutex_t tx_lock; /* serialises sends and StatSN */
    uint32_t statsn;
    struct {
        const scsiLu *lu;         /* reader only */
        _Atomic uint32_t ewma_us; /* UINT32_MAX: not measured */
    } lat[ISCSI_LAT_SLOTS];
    unsigned lat_next;
    uint8_t *inbuf; /* receive read-ahead (reader thread only) */
    size_t in_off, in_len;
    uint8_t *rx; /* data segments of non-data PDUs */
    size_t rx_cap;
    pthread_mutex_t task_lock; /* task table states, free_bufs */
    pthread_cond_t task_cond;  /* a task slot became FREE */
    iscsiBuf *free_bufs;       /* task buffers, reused */
    unsigned nbufs, nfree, nfree_big;
    iscsiTask *tasks;
    uint32_t next_ttt;
    /* pending Text response (long SendTargets answers) */
    iscsiTextOut text_out;
    size_t text_sent;
    uint32_t text_ttt;
    uint32_t text_itt;
    /* pending Text request continuation */
    char *text_in;
    size_t text_in_len;
    /* liveness */
    bool ping_out;
    uint32_t ping_ttt;
    uint64_t ping_sent_ms;
    uint64_t last_rx_ms;
    uint64_t *lunlist; /* REPORT LUNS scratch */
    bool logout_sent;  /* Async logout request already sent */
};

/* iscsi_portal.c (and the process-wide list in iscsi_send_targets.c) */
struct iscsiPortal {
    iscsiPortalConfig cfg;
    char address[64];
    char advertise[96]; /* "ip:port" as put in TargetAddress; "" = wildcard
                         * address: use the connection's local address */
    int lfd;
    uint16_t port;
    pthread_t accept_thread;
    iscsiWorkers *workers;
    atomic_bool stopping;
    unsigned grace_s;
    pthread_mutex_t lock; /* conns list */
    pthread_cond_t cond;
    iscsiConn *conns;
    iscsiPortal *next_global;
    /* pre-login drops: the warnings are rate-limited, per kind (per source,
     * in total, refused, accept failing), accept thread only */
    uint64_t drop_log_ms[4];
    unsigned long drops_unlogged[4];
    /* refused logins (iscsi_login.c): at most one log line per second per
     * portal, so a client retrying bad logins cannot flood the log; any
     * connection thread */
    _Atomic uint64_t refused_log_ms;
    _Atomic unsigned long refused_unlogged;
};
/*
 * The files, bottom layer first; each calls only files above it in this
 * list (below it in the stack), never one further down:
 *   iscsi_pdu.c, iscsi_text.c, iscsi_chap.c (md5.c): wire formats, no state
 *   iscsi_sys.c          clock, mutexes
 *   iscsi_conn_io.c      a connection's PDU receive/send, kick
 *   iscsi_session.c      session registry, TSIH, CmdSN window, LU nexus
 *   iscsi_login.c        login phase
 *   iscsi_task.c         a task's execution, answer and release
 *   iscsi_worker.c       the worker pool
 *   iscsi_send_targets.c the list of running portals, SendTargets
 *   iscsi_conn.c         the connection thread: login, full feature phase
 *   iscsi_portal.c       listening, connection threads, stop (public API)
 */

/* iscsi_sys.c */
uint64_t iscsi_now_ms(void);
uint64_t iscsi_now_us(void);
void iscsi_mutex_init_hot(pthread_mutex_t *m);

/* iscsi_conn_io.c */
int iscsi_conn_recv(iscsiConn *c, void *buf, size_t len, int timeout_ms);
int iscsi_conn_send(iscsiConn *c, iscsiHdr *h, const void *data, uint32_t dlen, bool advance_sn);
/* One PDU with tx_lock held (a task's Data-In and response go out under one
 * hold); more: another PDU follows at once (MSG_MORE). */
int iscsi_conn_send_locked(iscsiConn *c, iscsiHdr *h, const void *data, uint32_t dlen,
                           bool advance_sn, bool more);
void iscsi_conn_send_async_logout(iscsiConn *c, uint16_t grace_s);
void iscsi_conn_kick(iscsiConn *c);

/* iscsi_session.c */
iscsiSession *iscsi_session_new(iscsiPortal *p, const uint8_t isid[6], const iscsiParams *params);
/* Close every session of the same I_T nexus (initiator, ISID, target,
 * portal group) and wait for them to go; then register s with a TSIH. */
int iscsi_session_register(iscsiSession *s);
void iscsi_session_free(iscsiSession *s); /* unregister, drop nexus, free */
bool iscsi_session_tsih_exists(uint16_t tsih);
size_t iscsi_session_count(iscsiPortal *p);
/* End the sessions of target iqn on portal p (NULL = any) that
 * tgt_session_check no longer admits (iscsi_portal_revoke). */
size_t iscsi_session_revoke(iscsiPortal *p, const char *iqn);
/* Apply fn to the connection of every session of target iqn (NULL = all)
 * registered on portal p (NULL = any), under the registry lock. */
void iscsi_session_foreach(iscsiPortal *p, const char *iqn, void (*fn)(iscsiConn *, void *),
                           void *opaque);
/* CmdSN window: returns true if a non-immediate command with cmdsn may be
 * delivered now (and advances ExpCmdSN), false if it must be ignored. */
bool iscsi_session_cmdsn_accept(iscsiSession *s, uint32_t cmdsn, bool immediate);
/* The window is fixed: MaxCmdSN = ExpCmdSN + depth - 1. Here rather than in
 * iscsi_session.c because every PDU sent (iscsi_conn_io.c, a layer below
 * the sessions) carries it. */
static inline uint32_t iscsi_session_max_cmdsn(const iscsiSession *s)
{
    return s->exp_cmdsn + s->queue_depth - 1;
}
/* LU for a LUN with a command reference (caller puts); registers the
 * session's I_T nexus with the LU the first time it is seen. */
scsiLu *iscsi_session_lu_get(iscsiSession *s, uint64_t lun);
/* Reset every LU of the session's target (TARGET WARM/COLD RESET). */
void iscsi_session_reset_target(iscsiSession *s, uint8_t ascq);

/* iscsi_login.c: run the login phase; 0 = full feature phase reached
 * (c->sess set), -1 = connection must close. */
int iscsi_login(iscsiConn *c);

/* iscsi_task.c: task buffers (task_lock taken inside), task slot release
 * by the task's owner, execution into a Data-In buffer, the Data-In/SCSI
 * Response exchange, and which commands go to the workers (media commands,
 * unless small and their LU measured fast). */
iscsiBuf *iscsi_buf_get(iscsiConn *c, size_t size);
void iscsi_buf_put(iscsiConn *c, iscsiBuf *b);
void iscsi_buf_free_all(iscsiConn *c);
void iscsi_task_release_locked(iscsiConn *c, iscsiTask *t);
void iscsi_task_release(iscsiConn *c, iscsiTask *t);
void iscsi_task_exec(iscsiConn *c, iscsiTask *t, iscsiBuf **in_out);
int iscsi_task_respond(iscsiConn *c, iscsiTask *t);
/* Worker side of a queued task: execute, respond, release. */
void iscsi_task_run(iscsiTask *t);
bool iscsi_media_command(uint8_t op);
bool iscsi_run_inline(iscsiConn *c, iscsiTask *t);
void iscsi_lat_sample(iscsiConn *c, unsigned slot, uint64_t t0_us);

/* iscsi_worker.c: the portal's worker pool */
iscsiWorkers *iscsi_workers_start(unsigned nthreads);
void iscsi_workers_submit(iscsiWorkers *w, iscsiTask *t);
/* Unlink queued tasks of connection c (only, or all, or those of lun) and
 * chain them through qnext into *out; the caller (holding c->task_lock)
 * releases them. */
size_t iscsi_workers_cancel(iscsiWorkers *w, const iscsiConn *c, bool all, uint64_t lun,
                            const iscsiTask *only, iscsiTask **out);
/* Join every worker; no task may be queued any more. */
void iscsi_workers_stop(iscsiWorkers *w);

/* iscsi_send_targets.c */
void iscsi_portal_list_add(iscsiPortal *p);
void iscsi_portal_list_remove(iscsiPortal *p);
/* SendTargets answer for an initiator: every visible target (or only
 * `only`), each with a TargetAddress per running portal of inv. */
void iscsi_portal_send_targets(iscsiPortal *p, const char *initiator, const char *only,
                               const char *local_addr, iscsiTextOut *out);

/* iscsi_conn.c: a connection thread (login, then full feature phase) */
void *iscsi_conn_thread(void *arg);

#endif
