/*
 * notify.h: tell the service manager how start and stop go (systemd's
 * sd_notify protocol, spoken directly: one datagram of "KEY=value" lines to
 * the unix socket named by $NOTIFY_SOCKET). Without $NOTIFY_SOCKET (poold
 * not started by systemd, or Type=simple) every call does nothing.
 *
 * poold.service is Type=notify: systemd counts poold as started only after
 * READY=1, which poold sends once reconcile is done and the control socket
 * listens, so "systemctl start poold" returning means poolctl works, and
 * the STATUS= lines show what a long start is doing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_NOTIFY_H
#define POOLD_NOTIFY_H

/* Send one notification (printf-style text, e.g. "STATUS=reconciling").
 * Returns 1 sent, 0 no manager listening, -1 failed (logged at debug level:
 * a service manager that went away must not stop poold). */
int poold_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
