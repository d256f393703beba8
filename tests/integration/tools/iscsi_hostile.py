#!/usr/bin/env python3
# iscsi_hostile.py: the clients of target-hostile.sh, written from RFC 7143
# (Login, SCSI Command, Data-In, SCSI Response, NOP-In/Out PDUs).
#
#   flood HOST PORT --idle N --idle-src A-B --half M --half-src C-D
#         --ready FILE --stop FILE
#       N connections that never send a byte and M that send 20 bytes of a
#       Login Request and then nothing, spread over the source addresses
#       127.0.0.A..B and 127.0.0.C..D (first all of one address, then the
#       next, so its per-source limit is hit); every connection the target
#       closes is reopened (at most --rate a second), until FILE --stop
#       exists. FILE --ready is written once all N + M have connected.
#   session HOST PORT IQN LUN --ready FILE --stop FILE
#       one normal session from 127.0.0.1: login, INQUIRY, ready; answers the
#       target's NOP-In pings while it waits for --stop; then INQUIRY again.
#       Exit 0 only if both INQUIRYs got GOOD on the same session.
#   storm HOST PORT IQN --count N --inflight K --src A-B [--hold FILE]
#       N logins (each its own initiator name), at most K at a time, from
#       127.0.0.A..B; a connection the target drops before it answers is
#       retried. Without --hold every session is closed as soon as it is
#       logged in; with --hold all are kept open until FILE exists. Prints
#       "storm: ok X refused Y retried Z failed W" (refused = status 03/02).
#
# SPDX-License-Identifier: GPL-2.0-or-later
import argparse
import errno
import os
import resource
import selectors
import socket
import sys
import time

BHS = 48


def pad4(n):
    return (n + 3) & ~3


def srcs(spec):
    a, b = (int(x) for x in spec.split("-"))
    return ["127.0.0.%d" % i for i in range(a, b + 1)]


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def login_request(initiator, target, isid, itt):
    keys = [("InitiatorName", initiator), ("SessionType", "Normal"),
            ("TargetName", target), ("HeaderDigest", "None"), ("DataDigest", "None"),
            ("MaxRecvDataSegmentLength", "262144")]
    text = b"".join(k.encode() + b"=" + v.encode() + b"\0" for k, v in keys)
    h = bytearray(BHS)
    h[0] = 0x40 | 0x03      # immediate, Login Request
    h[1] = 0x80 | 1 << 2 | 3  # T=1, CSG=operational, NSG=full feature phase
    h[5:8] = len(text).to_bytes(3, "big")
    h[8:14] = isid
    h[16:20] = itt.to_bytes(4, "big")
    return bytes(h) + text + bytes(pad4(len(text)) - len(text))


def pdu_len(buf):
    """Length of the PDU at the start of buf, or 0 if its header is not in."""
    if len(buf) < BHS:
        return 0
    return BHS + buf[4] * 4 + pad4(int.from_bytes(buf[5:8], "big"))


def login_result(pdu):
    """(status class, detail, logged in?) of a Login Response."""
    if pdu[0] & 0x3F != 0x23:
        return (0xFF, pdu[0] & 0x3F, False)
    cls, det = pdu[36], pdu[37]
    return (cls, det, cls == 0 and pdu[1] & 0x80 and pdu[1] & 3 == 3)


# ---------------------------------------------------------------- session
class Session:
    def __init__(self, host, port, iqn, lun, timeout=10):
        self.s = socket.create_connection((host, port), timeout=timeout,
                                          source_address=("127.0.0.1", 0))
        self.lun = lun
        self.itt = 1
        self.s.sendall(login_request("iqn.2026-12.org.poold.test:held-session", iqn,
                                     bytes([0x80, 0, 0, 0x48, 0x45, 0x4C]), self.itt))
        rsp = self.recv_pdu()
        cls, det, ok = login_result(rsp)
        if not ok:
            raise RuntimeError("login refused: %02x/%02x" % (cls, det))
        self.statsn = int.from_bytes(rsp[24:28], "big")
        self.cmdsn = int.from_bytes(rsp[28:32], "big")  # ExpCmdSN

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise RuntimeError("connection closed by the target")
            out += chunk
        return out

    def recv_pdu(self):
        hdr = self.recv_exact(BHS)
        rest = pdu_len(hdr) - BHS
        return hdr + (self.recv_exact(rest) if rest else b"")

    def answer_nop(self, pdu):
        ttt = pdu[20:24]
        self.statsn = int.from_bytes(pdu[24:28], "big")
        if ttt == b"\xff\xff\xff\xff":
            return
        h = bytearray(BHS)
        h[0] = 0x40 | 0x00  # immediate NOP-Out
        h[1] = 0x80
        h[8:16] = pdu[8:16]
        h[16:20] = b"\xff\xff\xff\xff"
        h[20:24] = ttt
        h[24:28] = self.cmdsn.to_bytes(4, "big")
        h[28:32] = ((self.statsn + 1) & 0xFFFFFFFF).to_bytes(4, "big")
        self.s.sendall(bytes(h))

    def inquiry(self):
        self.itt += 1
        h = bytearray(BHS)
        h[0] = 0x01             # SCSI Command
        h[1] = 0x80 | 0x40 | 1  # F, R, simple
        h[8:16] = (bytes([0, self.lun]) if self.lun < 256 else
                   bytes([0x40 | self.lun >> 8, self.lun & 0xFF])) + bytes(6)
        h[16:20] = self.itt.to_bytes(4, "big")
        h[20:24] = (96).to_bytes(4, "big")
        h[24:28] = self.cmdsn.to_bytes(4, "big")
        h[28:32] = ((self.statsn + 1) & 0xFFFFFFFF).to_bytes(4, "big")
        h[32:38] = bytes([0x12, 0, 0, 0, 96, 0])
        self.cmdsn = (self.cmdsn + 1) & 0xFFFFFFFF
        self.s.sendall(bytes(h))
        data = b""
        while True:
            pdu = self.recv_pdu()
            op = pdu[0] & 0x3F
            if op == 0x20:
                self.answer_nop(pdu)
                continue
            if int.from_bytes(pdu[16:20], "big") != self.itt:
                continue
            if op == 0x25:  # Data-In
                data += pdu[BHS:BHS + int.from_bytes(pdu[5:8], "big")]
                if pdu[1] & 0x01:  # status in the last Data-In
                    return pdu[3], data
            elif op == 0x21:  # SCSI Response
                return pdu[3], data
            else:
                raise RuntimeError("unexpected opcode 0x%02x" % op)

    def idle_until(self, path):
        while not os.path.exists(path):
            self.s.settimeout(0.2)
            try:
                hdr = self.s.recv(BHS, socket.MSG_PEEK)
            except socket.timeout:
                continue
            finally:
                self.s.settimeout(10)
            if not hdr:
                raise RuntimeError("connection closed by the target while idle")
            pdu = self.recv_pdu()
            if pdu[0] & 0x3F == 0x20:
                self.answer_nop(pdu)
            else:
                raise RuntimeError("unexpected opcode 0x%02x while idle" % (pdu[0] & 0x3F))


def cmd_session(a):
    t0 = time.monotonic()
    try:
        s = Session(a.host, a.port, a.iqn, a.lun)
        st, data = s.inquiry()
        if st != 0 or len(data) < 36:
            raise RuntimeError("first INQUIRY: status %d, %d bytes" % (st, len(data)))
        with open(a.ready, "w") as f:
            f.write("%s\n" % data[8:32].decode(errors="replace").strip())
        s.idle_until(a.stop)
        st, data = s.inquiry()
        if st != 0 or len(data) < 36:
            raise RuntimeError("last INQUIRY: status %d, %d bytes" % (st, len(data)))
    except (OSError, RuntimeError) as e:
        print("session: FAILED after %.1f s: %s" % (time.monotonic() - t0, e))
        return 1
    print("session: alive after %.1f s, INQUIRY good before and after" % (time.monotonic() - t0))
    return 0


# ------------------------------------------------------------------ flood
def cmd_flood(a):
    # grouped by address, so the first round fills one address's budget
    # before the next address starts (both limits are reached)
    slots = [("idle", ip) for ip in spread(a.idle, srcs(a.idle_src))]
    slots += [("half", ip) for ip in spread(a.half, srcs(a.half_src))]
    raise_nofile(len(slots) + 64)
    sel = selectors.DefaultSelector()
    half = login_request("iqn.2026-12.org.poold.test:half", "iqn.x", bytes(6), 1)[:20]
    pending = list(range(len(slots)))  # slots waiting to be (re)opened
    connected_once = set()
    stats = {"opened": 0, "closed": 0}
    ready_written = False
    tokens, last = float(len(slots)), time.monotonic()  # the first round at once
    deadline = time.monotonic() + a.max_seconds

    def open_slot(i):
        kind, ip = slots[i]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((ip, 0))
            s.connect_ex((a.host, a.port))
        except OSError:
            s.close()
            pending.append(i)
            return
        stats["opened"] += 1
        sel.register(s, selectors.EVENT_WRITE, (i, "connecting"))

    def drop(s, i):
        sel.unregister(s)
        s.close()
        stats["closed"] += 1
        pending.append(i)

    while not os.path.exists(a.stop) and time.monotonic() < deadline:
        now = time.monotonic()
        tokens = min(tokens + (now - last) * a.rate, max(a.rate, float(len(slots))))
        last = now
        while pending and tokens >= 1:
            tokens -= 1
            open_slot(pending.pop(0))
        for key, ev in sel.select(timeout=0.05):
            s, (i, st) = key.fileobj, key.data
            if st == "connecting":
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    drop(s, i)
                    continue
                connected_once.add(i)
                if slots[i][0] == "half":
                    try:
                        s.send(half)
                    except OSError:
                        drop(s, i)
                        continue
                sel.modify(s, selectors.EVENT_READ, (i, "open"))
            else:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    drop(s, i)
        if not ready_written and len(connected_once) == len(slots):
            with open(a.ready, "w") as f:
                f.write("%d\n" % len(slots))
            ready_written = True
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    print("flood: %d connections opened (%d idle, %d half-sent Login Requests held), "
          "%d closed by the target" % (stats["opened"], a.idle, a.half, stats["closed"]))
    return 0 if ready_written else 1


def spread(n, addrs):
    """n addresses from addrs, in runs: each one n / len(addrs) times."""
    return [addrs[i * len(addrs) // n] for i in range(n)]


# ------------------------------------------------------------------ storm
def cmd_storm(a):
    raise_nofile(a.count + 64)
    sel = selectors.DefaultSelector()
    sources = srcs(a.src)
    todo = list(range(a.count))
    held = []
    res = {"ok": 0, "refused": 0, "retried": 0, "failed": 0}
    other = {}
    inflight = 0
    deadline = time.monotonic() + a.max_seconds

    def start(n):
        nonlocal inflight
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((sources[n % len(sources)], 0))
        s.connect_ex((a.host, a.port))
        sel.register(s, selectors.EVENT_WRITE, [n, b""])
        inflight += 1

    def finish(s, n, outcome):
        nonlocal inflight
        sel.unregister(s)
        inflight -= 1
        if outcome == "retry":
            res["retried"] += 1
            todo.append(n)
        elif outcome == "ok":
            res["ok"] += 1
            if a.hold:
                held.append(s)
                return
        else:
            res[outcome] += 1
        s.close()

    while (todo or inflight) and time.monotonic() < deadline:
        while todo and inflight < a.inflight:
            start(todo.pop(0))
        for key, ev in sel.select(timeout=0.1):
            s, (n, buf) = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    finish(s, n, "retry")
                    continue
                isid = bytes([0x80, 0x53, 0x54, n >> 16 & 0xFF, n >> 8 & 0xFF, n & 0xFF])
                try:
                    s.send(login_request("iqn.2026-12.org.poold.test:storm-%d" % n, a.iqn,
                                         isid, n))
                except OSError:
                    finish(s, n, "retry")
                    continue
                sel.modify(s, selectors.EVENT_READ, [n, b""])
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:  # dropped before the answer: try again
                finish(s, n, "retry")
                continue
            buf += data
            key.data[1] = buf
            plen = pdu_len(buf)
            if not plen or len(buf) < plen:
                continue
            cls, det, ok = login_result(buf[:plen])
            if ok:
                finish(s, n, "ok")
            elif (cls, det) == (3, 2):
                finish(s, n, "refused")
            else:
                other["%02x/%02x" % (cls, det)] = other.get("%02x/%02x" % (cls, det), 0) + 1
                finish(s, n, "failed")
    res["failed"] += inflight + len(todo)  # deadline passed
    print("storm: ok %d refused %d retried %d failed %d%s" %
          (res["ok"], res["refused"], res["retried"], res["failed"],
           (" (other status: %s)" % other) if other else ""))
    sys.stdout.flush()
    if a.hold:
        while not os.path.exists(a.hold) and time.monotonic() < deadline:
            time.sleep(0.05)
        for s in held:
            s.close()
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("flood")
    s = sub.add_parser("session")
    st = sub.add_parser("storm")
    for q in (f, s, st):
        q.add_argument("host")
        q.add_argument("port", type=int)
        q.add_argument("--max-seconds", type=float, default=120)
    f.add_argument("--idle", type=int, default=1000)
    f.add_argument("--idle-src", default="10-19")
    f.add_argument("--half", type=int, default=100)
    f.add_argument("--half-src", default="20-24")
    f.add_argument("--rate", type=float, default=300, help="reopens a second")
    f.add_argument("--ready", required=True)
    f.add_argument("--stop", required=True)
    s.add_argument("iqn")
    s.add_argument("lun", type=int)
    s.add_argument("--ready", required=True)
    s.add_argument("--stop", required=True)
    st.add_argument("iqn")
    st.add_argument("--count", type=int, default=300)
    st.add_argument("--inflight", type=int, default=300)
    st.add_argument("--src", default="30-39")
    st.add_argument("--hold")
    a = p.parse_args()
    return {"flood": cmd_flood, "session": cmd_session, "storm": cmd_storm}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
