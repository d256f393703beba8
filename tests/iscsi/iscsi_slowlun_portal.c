// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_slowlun_portal.c: the target side of iscsi_slowlun_test.c, in its
 * own translation unit because the target's iscsi.h and libiscsi's header
 * both define ISCSI_SESSION_NORMAL.
 */
#include <string.h>
#include <unistd.h>

#include "iscsi.h"
#include "iscsi_slowlun_test.h"

void *slowlun_portal_start(tgtInventory *inv, unsigned workers, unsigned *port)
{
    iscsiPortalConfig cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.address = "127.0.0.1";
    cfg.inv = inv;
    cfg.workers = workers;
    /* port 0 means 3260 to the portal: try ports derived from the pid */
    for (unsigned i = 0; i < 50; i++) {
        cfg.port = (uint16_t)(35000 + ((unsigned)getpid() * 7 + i * 13) % 20000);
        iscsiPortal *p = iscsi_portal_start(&cfg);
        if (p) {
            *port = iscsi_portal_port(p);
            return p;
        }
    }
    return NULL;
}

void slowlun_portal_stop(void *p, int grace_ms)
{
    iscsi_portal_stop(p, grace_ms);
}
