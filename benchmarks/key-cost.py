#!/usr/bin/env python3
"""Where a session's Redis memory goes: used_memory per key of each kind a session writes, and the per-session sum
for today's layout and for the layouts that could meet "1 M sessions <= 1 GiB" (issue 17).

Method: a private redis-server on loopback (no persistence); for each kind, FLUSHALL, then N keys written through
`redis-cli --pipe` exactly as ForwardAuth writes them (strings: SET key value PX ttl; index sets: SADD + PEXPIRE),
with keys of the product's length (`<prefix>:session:<43-char hash>`) and random values of the given sealed size;
used_memory after minus before, divided by N. Random bytes do not compress, as sealed records do not.
The value sizes default to the figures of the benchmark run on docs/benchmarks.md (hot record 282 bytes sealed; token
record ~1,000 bytes: refresh token + the dev provider's ID token — the run's 2,003 B per session less the hot record and the index put its value under 1,019 bytes, the jemalloc size class of 1,024).

Usage: benchmarks/key-cost.py [--keys 50000] [--hot 282] [--tokens 1020] [--tokens-without-id 110]
"""
import argparse
import os
import random
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--keys", type=int, default=50_000)
parser.add_argument("--hot", type=int, default=282, help="sealed hot record bytes")
parser.add_argument("--tokens", type=int, default=1000, help="sealed token record bytes (refresh + ID token)")
parser.add_argument("--tokens-without-id", type=int, default=110, help="sealed token record bytes, refresh token only")
args = parser.parse_args()

ALPHABET = string.ascii_letters + string.digits + "-_"
TTL_MS = str(86_400_000)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text(n):
    return "".join(random.choice(ALPHABET) for _ in range(n))


def resp(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        b = p if isinstance(p, bytes) else p.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


port = free_port()
work = tempfile.mkdtemp(prefix="key-cost-")
server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                           "--dir", work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cli(*a):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(a), capture_output=True, text=True, check=True).stdout


def used_memory():
    return int(next(l for l in cli("INFO", "memory").splitlines() if l.startswith("used_memory:")).split(":")[1])


def per_key(commands_for):
    cli("FLUSHALL")
    before = used_memory()
    pipe = subprocess.Popen(["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for i in range(args.keys):
        for command in commands_for(i):
            pipe.stdin.write(resp(*command))
    pipe.stdin.close()
    pipe.wait()
    return (used_memory() - before) / args.keys


try:
    for _ in range(100):
        try:
            cli("PING")
            break
        except subprocess.CalledProcessError:
            time.sleep(0.1)
    version = cli("INFO", "server")
    version = next(l for l in version.splitlines() if l.startswith("redis_version:")).split(":")[1].strip()

    def string_key(kind, size):
        value = os.urandom(size)
        return lambda i: [("SET", f"bench:{kind}:{text(43)}", value, "PX", TTL_MS)]

    def set_key(kind):
        def commands(i):
            key = f"bench:{kind}:user{i}-{text(8)}@example.com"
            return [("SADD", key, text(43)), ("PEXPIRE", key, TTL_MS)]
        return commands

    measured = {
        "hot": per_key(string_key("session", args.hot)),
        "tokens": per_key(string_key("tokens", args.tokens)),
        "tokens-without-id": per_key(string_key("tokens", args.tokens_without_id)),
        "merged-without-id": per_key(string_key("session", args.hot + args.tokens_without_id)),
        "sub-index": per_key(set_key("sub")),
    }
    print(f"Redis {version}, {args.keys} keys per kind; used_memory per key:")
    rows = [
        ("hot record", f"{args.hot} B sealed", measured["hot"]),
        ("token record (refresh + ID token)", f"{args.tokens} B sealed", measured["tokens"]),
        ("token record (refresh token only)", f"{args.tokens_without_id} B sealed", measured["tokens-without-id"]),
        ("hot + refresh token in one key", f"{args.hot + args.tokens_without_id} B sealed", measured["merged-without-id"]),
        ("sub index (a set, one member)", "43 B member", measured["sub-index"]),
    ]
    for name, size, bytes_per_key in rows:
        print(f"  {name:36} {size:>14}  {bytes_per_key:7.0f} B")
    budget = (1 << 30) / 1_000_000
    layouts = [
        ("today: hot + tokens (with ID token) + sub index", measured["hot"] + measured["tokens"] + measured["sub-index"]),
        ("no ID token kept: hot + tokens + sub index", measured["hot"] + measured["tokens-without-id"] + measured["sub-index"]),
        ("no ID token, one key: merged + sub index", measured["merged-without-id"] + measured["sub-index"]),
        ("no ID token, one key, no sub index", measured["merged-without-id"]),
    ]
    print(f"per session (budget for 1 M sessions in 1 GiB: {budget:.0f} B):")
    for name, total in layouts:
        print(f"  {name:52} {total:7.0f} B  {'within' if total <= budget else 'over'}")
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(work, ignore_errors=True)
