// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_login.c: the login phase (RFC 7143 6.3, 11.12, 11.13).
 *
 * Stages: SecurityNegotiation (0) -> LoginOperationalNegotiation (1) ->
 * FullFeaturePhase (3). The initiator may skip 0 (only if the target does not
 * require CHAP) or 1. Each Login Request carries CSG (the stage it is in) and,
 * with T=1, NSG (where it wants to go). We answer T=1 only when the
 * transition is allowed: leaving stage 0 needs authentication finished
 * (AuthMethod=None accepted, or CHAP verified); reaching stage 3 needs the
 * mandatory keys. A request with C=1 carries an unfinished text: we
 * accumulate it and answer with an empty response until C=0, then negotiate
 * the whole text at once, so a key split across PDUs is seen whole.
 *
 * Decisions made on the first Login Request (they cannot change later):
 * version range (we speak version 0x00), ISID/TSIH, InitiatorName (02/07 if
 * missing), SessionType, TargetName (02/07 if missing for a normal session,
 * 02/03 if unknown), the ACL (02/02). TSIH != 0 asks to add a connection to
 * an existing session, which ERL 0 with MaxConnections=1 does not allow
 * (02/0a if no such session, else 02/06 too many connections).
 *
 * Any error: one Login Response with the status class/detail and T=0, then
 * the connection closes (RFC 7143 11.13.5). Nothing here trusts a length or
 * waits long: texts are bounded by ISCSI_LOGIN_MAX_TEXT, the first Login
 * Request must be complete within first_pdu_timeout_s of the start and the
 * whole login within login_timeout_s (the portal's config), whatever the
 * initiator sends or holds back; these bound what a connection that never
 * logs in costs (the portal's pre-login budget, iscsi_portal.c).
 *
 * Admission: before its session is created, the connection claims its place
 * as a session (admit PRELOGIN -> ADMITTED, iscsi.h); if the portal dropped
 * it first to make room for newer connections, the login ends. The session
 * cap (max_sessions) is checked when the session registers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi.h"
#include "pool-error.h"
#include "pool-log.h"

/* status classes / details (11.13.5) */
#define ST_SUCCESS          0x00, 0x00
#define ST_INIT_ERROR       0x02, 0x00
#define ST_AUTH_FAILED      0x02, 0x01
#define ST_FORBIDDEN        0x02, 0x02
#define ST_NOT_FOUND        0x02, 0x03
#define ST_UNSUPP_VERSION   0x02, 0x05
#define ST_TOO_MANY_CONNS   0x02, 0x06
#define ST_MISSING_PARAM    0x02, 0x07
#define ST_CANT_INCLUDE     0x02, 0x08
#define ST_SESSION_TYPE     0x02, 0x09
#define ST_NO_SESSION       0x02, 0x0a
#define ST_INVALID_REQUEST  0x02, 0x0b
#define ST_TARGET_ERROR     0x03, 0x00
#define ST_OUT_OF_RESOURCES 0x03, 0x02

typedef struct {
    iscsiConn *c;
    iscsiParams params;
    iscsiTargetLimits lim;
    iscsiNegotiation neg;
    iscsiTextOut out;
    char *text; /* accumulated request text */
    size_t text_len;
    uint8_t isid_tsih[8];
    uint32_t itt;
    uint32_t cmdsn;
    int stage; /* current stage, -1 before the first request */
    bool first_done;
    bool have_auth;
    tgtAuth auth;
    uint64_t auth_epoch; /* of the CHAP settings this login is checked against */
    enum { AUTH_UNSET, AUTH_NONE, AUTH_CHAP } method;
    iscsiChap chap;
    bool authenticated;
    uint8_t cls, detail;
    const char *why;
} loginCtx;

static int login_send(loginCtx *l, uint8_t flags, uint8_t cls, uint8_t detail, bool with_text)
{
    iscsiHdr h;
    uint32_t dlen = with_text && !l->out.failed ? (uint32_t)l->out.len : 0;

    iscsi_build_login_rsp(&h, l->isid_tsih, l->itt, flags, cls, detail, dlen);
    iscsi_hdr_set_sn(&h, 0, l->cmdsn, l->cmdsn + l->c->portal->cfg.queue_depth - 1);
    int rc = iscsi_conn_send(l->c, &h, dlen ? l->out.buf : NULL, dlen, true);
    /* the initiator's turn starts now: a slow target is not its idleness */
    atomic_store(&l->c->progress_ms, iscsi_now_ms());
    return rc;
}

static int login_fail(loginCtx *l, uint8_t cls, uint8_t detail, const char *why)
{
    iscsiPortal *p = l->c->portal;
    uint64_t now = iscsi_now_ms(), last = atomic_load(&p->refused_log_ms);
    if (last && now - last < 1000) {
        atomic_fetch_add(&p->refused_unlogged, 1);
    } else if (atomic_compare_exchange_strong(&p->refused_log_ms, &last, now)) {
        unsigned long more = atomic_exchange(&p->refused_unlogged, 0);
        if (more)
            log_info("iscsi %s: login refused (%02x/%02x): %s (%lu more refused in the last "
                     "second, not logged)",
                     l->c->peer, cls, detail, why, more);
        else
            log_info("iscsi %s: login refused (%02x/%02x): %s", l->c->peer, cls, detail, why);
    } else {
        atomic_fetch_add(&p->refused_unlogged, 1);
    }
    /* the TSIH of a failed login response is that of the request */
    login_send(l, 0, cls, detail, false);
    return -1;
}

/* First request: identity, target, ACL. 0 ok, -1 refused (response sent). */
static int login_first(loginCtx *l, const iscsiHdr *h)
{
    iscsiParams *p = &l->params;
    uint16_t tsih = iscsi_get_be16(l->isid_tsih + 6);

    if (!p->initiator_name[0])
        return login_fail(l, ST_MISSING_PARAM, "InitiatorName missing");
    if (p->session_type == ISCSI_SESSION_UNSET)
        p->session_type = ISCSI_SESSION_NORMAL;
    if (tsih != 0) {
        if (!iscsi_session_tsih_exists(tsih))
            return login_fail(l, ST_NO_SESSION, "TSIH of a session that does not exist");
        return login_fail(l, ST_TOO_MANY_CONNS, "MaxConnections=1: no connection may be added");
    }
    if (p->session_type == ISCSI_SESSION_NORMAL) {
        const char *why = "";
        if (!p->target_name[0])
            return login_fail(l, ST_MISSING_PARAM, "TargetName missing");
        if (tgt_login_check(l->c->portal->cfg.inv, p->target_name, p->initiator_name, &l->auth,
                            &l->auth_epoch, &why) < 0) {
            if (strstr(why, "no such"))
                return login_fail(l, ST_NOT_FOUND, why);
            return login_fail(l, ST_FORBIDDEN, why);
        }
        l->have_auth = true;
        /* the portal group tag is declared in the first response */
        iscsi_text_add(&l->out, "TargetPortalGroupTag", "%u", l->c->portal->cfg.tpgt);
    } else {
        memset(&l->auth, 0, sizeof(l->auth));
        l->have_auth = true;
    }
    if (ISCSI_LOGIN_CSG(h) == ISCSI_STAGE_OPERATIONAL && l->auth.chap_required)
        return login_fail(l, ST_AUTH_FAILED, "security negotiation skipped but CHAP required");
    return 0;
}

typedef struct {
    const char *auth_method, *chap_a, *chap_n, *chap_r, *chap_i, *chap_c;
} secKeys;

/* Security stage keys. 0 ok, -1 refused (response sent). */
static int login_security(loginCtx *l, const secKeys *k)
{
    char ibuf[8], cbuf[2 * ISCSI_CHAP_CHALLENGE_LEN + 3];

    if (k->auth_method) {
        bool chap_ok = l->auth.initiator.user[0] != '\0';
        const char *pick = NULL;
        const char *p = k->auth_method;

        while (*p && !pick) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == 4 && strncmp(p, "CHAP", 4) == 0 && chap_ok)
                pick = "CHAP";
            else if (len == 4 && strncmp(p, "None", 4) == 0 && !l->auth.chap_required)
                pick = "None";
            if (!comma)
                break;
            p = comma + 1;
        }
        if (!pick) {
            iscsi_text_add(&l->out, "AuthMethod", "Reject");
            return login_fail(l, ST_AUTH_FAILED, "no acceptable AuthMethod");
        }
        l->method = strcmp(pick, "CHAP") == 0 ? AUTH_CHAP : AUTH_NONE;
        if (l->method == AUTH_NONE)
            l->authenticated = true;
        iscsi_text_add(&l->out, "AuthMethod", "%s", pick);
    }
    if (k->chap_a) {
        if (l->method != AUTH_CHAP || l->chap.state != ISCSI_CHAP_IDLE)
            return login_fail(l, ST_INIT_ERROR, "CHAP_A out of sequence");
        if (iscsi_chap_challenge(&l->chap, k->chap_a, ibuf, sizeof(ibuf), cbuf, sizeof(cbuf)) < 0) {
            iscsi_text_add(&l->out, "CHAP_A", "Reject");
            return login_fail(l, ST_AUTH_FAILED, "CHAP_A without MD5 (5)");
        }
        iscsi_text_add(&l->out, "CHAP_A", "5");
        iscsi_text_add(&l->out, "CHAP_I", "%s", ibuf);
        iscsi_text_add(&l->out, "CHAP_C", "%s", cbuf);
    }
    if (k->chap_n || k->chap_r || k->chap_i || k->chap_c) {
        char nbuf[256], rbuf[2 * MD5_DIGEST_LEN + 3];
        const char *why = "";

        if (l->method != AUTH_CHAP || l->chap.state != ISCSI_CHAP_CHALLENGED)
            return login_fail(l, ST_INIT_ERROR, "CHAP response out of sequence");
        if (iscsi_chap_verify(&l->chap, &l->auth, k->chap_n, k->chap_r, k->chap_i, k->chap_c, nbuf,
                              sizeof(nbuf), rbuf, sizeof(rbuf), &why) < 0)
            return login_fail(l, ST_AUTH_FAILED, why);
        if (k->chap_i) {
            iscsi_text_add(&l->out, "CHAP_N", "%s", nbuf);
            iscsi_text_add(&l->out, "CHAP_R", "%s", rbuf);
        }
        l->authenticated = true;
    }
    return 0;
}

static bool security_complete(loginCtx *l)
{
    if (l->method == AUTH_UNSET)
        return !l->auth.chap_required;
    return l->authenticated;
}

static int login_finish(loginCtx *l)
{
    iscsiConn *c = l->c;
    iscsiSession *s;

    iscsi_negotiation_finish(&l->neg, &l->out);
    if (l->params.session_type == ISCSI_SESSION_DISCOVERY) {
        l->params.target_name[0] = '\0';
    }
    iscsiAdmit prelogin = ISCSI_ADMIT_PRELOGIN;
    if (!atomic_compare_exchange_strong(&c->admit, &prelogin, ISCSI_ADMIT_ADMITTED))
        return -1; /* dropped by the portal: the socket is already shut down */
    s = iscsi_session_new(c->portal, l->isid_tsih, &l->params);
    if (!s)
        return login_fail(l, ST_OUT_OF_RESOURCES, "out of memory");
    s->exp_cmdsn = l->cmdsn;
    s->auth_epoch = l->auth_epoch;
    s->conn = c;
    if (iscsi_session_register(s) < 0) {
        iscsi_session_free(s);
        return login_fail(l, ST_OUT_OF_RESOURCES, pool_error_last_message());
    }
    /* An ACL or CHAP change made during this login has already looked for
     * the sessions to end (iscsi_session_revoke) and could not see this one:
     * check again now that it is registered, so that no session outlives a
     * revocation. */
    const char *why = "";
    if (s->target[0] &&
        tgt_session_check(c->portal->cfg.inv, s->target, s->initiator, s->auth_epoch, &why) < 0) {
        iscsi_session_free(s);
        return login_fail(l, ST_FORBIDDEN, why);
    }
    c->sess = s;
    c->params = l->params;
    iscsi_put_be16(l->isid_tsih + 6, s->tsih);
    return 0;
}

int iscsi_login(iscsiConn *c)
{
    loginCtx l;
    const iscsiPortalConfig *cfg = &c->portal->cfg;
    uint64_t start = iscsi_now_ms();
    uint64_t deadline = start + (uint64_t)cfg->login_timeout_s * 1000;
    uint64_t first_deadline = start + (uint64_t)cfg->first_pdu_timeout_s * 1000;
    bool got_pdu = false;
    int rc = -1;

    memset(&l, 0, sizeof(l));
    l.c = c;
    l.stage = -1;
    iscsi_params_default(&l.params);
    l.params.session_type = ISCSI_SESSION_UNSET;
    iscsi_limits_default(&l.lim);
    iscsi_negotiation_init(&l.neg, &l.params, &l.lim);
    iscsi_text_out_init(&l.out, 65536);
    l.text = malloc(ISCSI_LOGIN_MAX_TEXT + 1);
    if (!l.text)
        goto out;

    for (;;) {
        uint8_t bhs[ISCSI_BHS_LEN];
        iscsiHdr h;
        uint8_t reason;
        uint64_t now = iscsi_now_ms();
        /* this PDU, header and data, must be in by then */
        uint64_t pdu_deadline = !got_pdu && first_deadline < deadline ? first_deadline : deadline;

        if (now >= pdu_deadline || atomic_load(&c->stop)) {
            log_debug("iscsi %s: %s, closing", c->peer,
                      got_pdu ? "login not finished in time" : "no Login Request in time");
            goto out;
        }
        if (iscsi_conn_recv(c, bhs, sizeof(bhs), (int)(pdu_deadline - now)) < 0)
            goto out;
        iscsi_hdr_decode(bhs, &h);
        if (h.opcode != ISCSI_OP_LOGIN_REQ) {
            log_info("iscsi %s: %s during login", c->peer, iscsi_opcode_name(h.opcode));
            goto out;
        }
        if (!l.first_done) {
            memcpy(l.isid_tsih, h.lun, 8);
            l.itt = h.itt;
            l.cmdsn = h.w[ISCSI_W24];
            c->cid = (uint16_t)(h.w[ISCSI_W20] >> 16);
            c->statsn = h.w[ISCSI_W28];
        }
        l.itt = h.itt;
        if (iscsi_hdr_check(&h, true, ISCSI_LOGIN_MAX_TEXT, &reason) < 0) {
            login_fail(&l, ST_INIT_ERROR, "malformed Login Request");
            goto out;
        }
        if (l.text_len + h.dlen > ISCSI_LOGIN_MAX_TEXT) {
            login_fail(&l, ST_INIT_ERROR, "login text too long");
            goto out;
        }
        uint32_t padded = iscsi_pad4(h.dlen);
        if (padded) {
            uint8_t pad[4];
            now = iscsi_now_ms();
            int left = now < pdu_deadline ? (int)(pdu_deadline - now) : 0;
            if (iscsi_conn_recv(c, l.text + l.text_len, h.dlen, left) < 0)
                goto out;
            now = iscsi_now_ms();
            left = now < pdu_deadline ? (int)(pdu_deadline - now) : 0;
            if (padded > h.dlen && iscsi_conn_recv(c, pad, padded - h.dlen, left) < 0)
                goto out;
            l.text_len += h.dlen;
        }
        /* a whole Login Request: this connection is making progress (the
         * portal drops the least recently active ones first) */
        got_pdu = true;
        atomic_store(&c->progress_ms, iscsi_now_ms());
        if (!l.first_done) {
            /* version-max (b2) >= 0 always; version-min (b3) must be 0 */
            if (h.b3 != 0) {
                login_fail(&l, ST_UNSUPP_VERSION, "unsupported version");
                goto out;
            }
        } else if (memcmp(l.isid_tsih, h.lun, 8) != 0) {
            login_fail(&l, ST_INIT_ERROR, "ISID/TSIH changed during login");
            goto out;
        }
        int csg = ISCSI_LOGIN_CSG(&h);
        if (l.stage >= 0 && csg != l.stage) {
            login_fail(&l, ST_INIT_ERROR, "CSG does not match the current stage");
            goto out;
        }
        if (l.stage < 0 && csg != ISCSI_STAGE_SECURITY && csg != ISCSI_STAGE_OPERATIONAL) {
            login_fail(&l, ST_INIT_ERROR, "invalid CSG");
            goto out;
        }
        l.stage = csg;
        iscsi_text_out_reset(&l.out);

        if (h.flags & ISCSI_FLAG_LOGIN_C) {
            /* partial text: acknowledge and wait for the rest */
            if (login_send(&l, (uint8_t)(csg << 2), ST_SUCCESS, false) < 0)
                goto out;
            continue;
        }

        iscsiKV kv[ISCSI_TEXT_MAX_PAIRS];
        const char *why = "";
        int n = iscsi_text_parse(l.text, l.text_len, kv, ISCSI_TEXT_MAX_PAIRS, &why);
        l.text_len = 0;
        if (n < 0) {
            login_fail(&l, ST_INIT_ERROR, why);
            goto out;
        }
        secKeys sk;
        memset(&sk, 0, sizeof(sk));
        for (int i = 0; i < n; i++) {
            iscsiNegResult r = iscsi_negotiate_key(&l.neg, kv[i].key, kv[i].value, &l.out);
            if (r == ISCSI_NEG_ERROR) {
                login_fail(&l, ST_INIT_ERROR, "invalid or repeated key");
                goto out;
            }
            if (r != ISCSI_NEG_SECURITY)
                continue;
            if (csg != ISCSI_STAGE_SECURITY) {
                iscsi_text_add(&l.out, kv[i].key, "Irrelevant");
                continue;
            }
            if (strcmp(kv[i].key, "AuthMethod") == 0)
                sk.auth_method = kv[i].value;
            else if (strcmp(kv[i].key, "CHAP_A") == 0)
                sk.chap_a = kv[i].value;
            else if (strcmp(kv[i].key, "CHAP_N") == 0)
                sk.chap_n = kv[i].value;
            else if (strcmp(kv[i].key, "CHAP_R") == 0)
                sk.chap_r = kv[i].value;
            else if (strcmp(kv[i].key, "CHAP_I") == 0)
                sk.chap_i = kv[i].value;
            else if (strcmp(kv[i].key, "CHAP_C") == 0)
                sk.chap_c = kv[i].value;
            else
                iscsi_text_add(&l.out, kv[i].key, "NotUnderstood");
        }
        if (!l.first_done) {
            if (login_first(&l, &h) < 0)
                goto out;
            l.first_done = true;
        }
        if (csg == ISCSI_STAGE_SECURITY && login_security(&l, &sk) < 0)
            goto out;

        bool transit = (h.flags & ISCSI_FLAG_LOGIN_T) != 0;
        int nsg = ISCSI_LOGIN_NSG(&h);
        if (transit) {
            if (nsg == 2 || nsg <= csg) {
                login_fail(&l, ST_INIT_ERROR, "invalid NSG");
                goto out;
            }
            if (csg == ISCSI_STAGE_SECURITY && !security_complete(&l)) {
                if (l.auth.chap_required && l.method == AUTH_UNSET) {
                    login_fail(&l, ST_AUTH_FAILED, "CHAP required");
                    goto out;
                }
                transit = false; /* CHAP exchange still in progress */
            }
        }
        if (transit && nsg == ISCSI_STAGE_FULL) {
            if (login_finish(&l) < 0)
                goto out;
            if (l.out.failed) {
                login_fail(&l, ST_OUT_OF_RESOURCES, "login response too long");
                goto out;
            }
            if (login_send(&l, (uint8_t)(ISCSI_FLAG_LOGIN_T | csg << 2 | nsg), ST_SUCCESS, true) <
                0)
                goto out;
            log_info("iscsi %s: %s session tsih %u: %s -> %s", c->peer,
                     l.params.session_type == ISCSI_SESSION_DISCOVERY ? "discovery" : "normal",
                     c->sess->tsih, l.params.initiator_name,
                     l.params.target_name[0] ? l.params.target_name : "-");
            rc = 0;
            goto out;
        }
        if (l.out.failed) {
            login_fail(&l, ST_OUT_OF_RESOURCES, "login response too long");
            goto out;
        }
        uint8_t flags = (uint8_t)(csg << 2);
        if (transit) {
            flags |= (uint8_t)(ISCSI_FLAG_LOGIN_T | nsg);
            l.stage = nsg;
        }
        if (login_send(&l, flags, ST_SUCCESS, true) < 0)
            goto out;
    }
out:
    iscsi_text_out_free(&l.out);
    free(l.text);
    memset(&l.auth, 0, sizeof(l.auth));
    memset(&l.chap, 0, sizeof(l.chap));
    return rc;
}
