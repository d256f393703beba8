#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""nbd_raw_client.py SOCKET RW_EXPORT RO_EXPORT SIZE: speak NBD by hand to
poold's private NBD server (tests/integration/nbd-qemu.sh) and check the
answers qemu never provokes: a write to a read-only export gets EPERM, reads
past the end, unaligned and over-32-MiB requests get EINVAL, a write past
the end ENOSPC, unknown exports NBD_REP_ERR_UNKNOWN, GO without asking for
block sizes NBD_REP_ERR_BLOCK_SIZE_REQD, structured replies are refused,
and garbage closes only its own connection. Prints one line per check;
exit 1 if any failed.

nbd_raw_client.py --hold SOCKET EXPORT: connect, GO, print "ready" and
keep the connection open and idle until the server closes it (exit 0) or
60 s pass (exit 1)."""
import socket
import struct
import sys

IHAVEOPT = 0x49484156454F5054
REP_MAGIC = 0x3E889045565A9
OPT_GO, OPT_SR = 7, 8
REP_ACK, REP_INFO = 1, 3
ERR_UNSUP, ERR_UNKNOWN, ERR_BS = 0x80000001, 0x80000006, 0x80000008
fails = 0


def check(name, ok, detail=""):
    global fails
    print(("ok " if ok else "FAIL ") + name + (" " + str(detail) if detail else ""))
    if not ok:
        fails += 1


def recv_all(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("connection closed")
        b += c
    return b


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    magic, opt, flags = struct.unpack(">QQH", recv_all(s, 18))
    assert magic == 0x4E42444D41474943 and opt == IHAVEOPT, "bad greeting"
    s.sendall(struct.pack(">I", 3))
    return s


def option(s, opt, data):
    s.sendall(struct.pack(">QII", IHAVEOPT, opt, len(data)) + data)
    replies = []
    while True:
        magic, o, typ, ln = struct.unpack(">QIII", recv_all(s, 20))
        assert magic == REP_MAGIC and o == opt, "bad option reply"
        replies.append((typ, recv_all(s, ln)))
        if typ != REP_INFO:
            return replies


def go(s, name, infos=(3,)):
    n = name.encode()
    data = struct.pack(">I", len(n)) + n + struct.pack(">H", len(infos))
    data += b"".join(struct.pack(">H", i) for i in infos)
    return option(s, OPT_GO, data)


def request(s, typ, off, length, payload=b""):
    s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, typ, 0x1234, off, length) + payload)
    magic, err, cookie = struct.unpack(">IIQ", recv_all(s, 16))
    assert magic == 0x67446698 and cookie == 0x1234, "bad reply"
    if err == 0 and typ == 0:
        recv_all(s, length)
    return err


def hold(path, name):
    s = connect(path)
    if go(s, name)[-1][0] != REP_ACK:
        return 1
    print("ready", flush=True)
    s.settimeout(60)
    try:
        return 0 if s.recv(1) == b"" else 1
    except ConnectionResetError:
        return 0
    except OSError:
        return 1


def main():
    if sys.argv[1] == "--hold":
        return hold(sys.argv[2], sys.argv[3])
    path, rw, ro, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

    s = connect(path)
    r = option(s, OPT_SR, b"")
    check("structured replies refused", r[-1][0] == ERR_UNSUP, hex(r[-1][0]))
    r = go(s, "no-such-export")
    check("unknown export refused", r[-1][0] == ERR_UNKNOWN, hex(r[-1][0]))
    r = go(s, ro, infos=())
    check("GO without block size refused", r[-1][0] == ERR_BS, hex(r[-1][0]))
    r = go(s, ro)
    check("GO on the read-only export", r[-1][0] == REP_ACK)
    info = [d for t, d in r if t == REP_INFO and d[:2] == b"\0\0"][0]
    esize, eflags = struct.unpack(">QH", info[2:])
    check("export size and read-only flag", esize == size and eflags & 2, (esize, eflags))
    check("write to read-only export: EPERM", request(s, 1, 0, 4096, b"x" * 4096) == 1)
    check("write zeroes to read-only export: EPERM", request(s, 6, 0, 4096) == 1)
    check("read still works", request(s, 0, 0, 4096) == 0)
    s.close()

    s = connect(path)
    go(s, rw)
    check("read past the end: EINVAL", request(s, 0, size, 4096) == 22)
    check("write past the end: ENOSPC", request(s, 1, size - 4096, 8192, b"y" * 8192) == 28)
    check("unaligned read: EINVAL", request(s, 0, 512, 512) == 22)
    check("read over 32 MiB: EINVAL", request(s, 0, 0, 64 << 20) == 22)
    check("offset overflow: EINVAL", request(s, 0, (1 << 64) - 4096, 8192) == 22)
    check("unknown command: EINVAL", request(s, 42, 0, 4096) == 22)
    check("connection usable after errors", request(s, 0, 0, 4096) == 0)
    s.close()

    s = connect(path)
    s.sendall(b"\xde\xad\xbe\xef" * 8)
    try:
        closed = s.recv(1) == b""
    except OSError:
        closed = True
    check("garbage option closes the connection", closed)
    s.close()
    s = connect(path)
    check("server still serves after garbage", go(s, rw)[-1][0] == REP_ACK)
    s.close()
    return 1 if fails else 0


sys.exit(main())
