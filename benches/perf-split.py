#!/usr/bin/env python3
"""Splits a hookd `perf script -F comm,tid,ip,sym` profile (dwarf call graphs) by component.

    perf-split.py perf.txt [µs-per-request]

Each sample of a tokio worker goes to the first component whose pattern matches a frame of its
stack (so librdkafka called from the handler counts as librdkafka, the SHA-256 of the replay key
as the replay guard); samples of librdkafka's broker threads form one component. Each sample is
also classed by what it was doing at the leaf: our code, allocator, memcpy, or the kernel (named
by the libc call that entered it). With the daemon's CPU per request, shares become µs.
"""
import collections
import re
import sys

COMPONENTS = [  # first match wins
    ("librdkafka: produce on the worker", r"rd_kafka_producev|BaseProducer.*send|event_record|OwnedHeaders"),
    ("librdkafka: delivery reports on the worker",
     r"rd_kafka_poll|rd_kafka_q_serve|delivery::drain|delivery::serve|DeliveryContext|EventPublisher"),
    ("verification (HMAC-SHA256, hex)", r"hookd_verify|UnverifiedRequest::verify"),
    ("replay guard (SHA-256 key, map)", r"hookd::replay"),
    ("metrics", r"WebhookMetrics|metrics_util|metrics_exporter|hookd::metrics|\bmetrics::"),
    ("tracing", r"tracing_subscriber|tracing_core|\btracing::|sharded_slab"),
    ("admission budget", r"hookd::admission"),
    ("body read", r"hookd::body"),
    ("ingress: lookup, event, rest of the handler", r"hookd::ingress|hookd::event|hookd::kafka|axum::handler"),
    ("axum routing", r"axum::|tower::|matchit"),
    ("connection layer (server.rs, conn.rs)", r"hookd::conn"),
    ("hyper HTTP/1.1", r"hyper::|httparse|\bhttp::"),
    ("tokio scheduler and I/O driver", r"tokio::|mio::"),
]
SYSCALLS = [("writev", "writev"), ("sendmsg", "sendmsg"), ("recv", "recv"), ("epoll_wait", "epoll_wait"),
            ("poll", "poll"), ("lll_lock", "futex (mutex)"), ("futex", "futex"), ("cond", "futex (condvar)"),
            ("write", "write"), ("read", "read")]


def leaf_kind(frames):
    leaf = frames[0] if frames else ""
    if leaf.startswith("[k]"):
        user = [f for f in frames if not f.startswith("[k]") and f != "[unknown]"]
        if not user:
            return "kernel: interrupt/other"
        for pat, name in SYSCALLS:
            if pat in user[0]:
                return "kernel: " + name
        return "kernel: via " + user[0][:40]
    if "_rjem_" in leaf or leaf in ("malloc", "free", "sdallocx", "realloc", "calloc", "mallocx", "rallocx"):
        return "allocator"
    if "memmove" in leaf or "memcpy" in leaf or "memset" in leaf:
        return "memcpy/memset"
    return "user code"


def main():
    us = float(sys.argv[2]) if len(sys.argv) > 2 else None
    by_comp, by_leaf, threads = collections.Counter(), collections.Counter(), collections.Counter()
    for block in open(sys.argv[1], errors="replace").read().split("\n\n"):
        lines = [l for l in block.split("\n") if l.strip()]
        if not lines:
            continue
        comm = lines[0].split()[0]
        frames = []
        for l in lines[1:]:
            parts = l.strip().split(None, 1)
            sym = re.sub(r"\+0x[0-9a-f]+$", "", parts[1]) if len(parts) > 1 else "?"
            if parts[0].startswith("ffffffff") and sym != "[unknown]":
                sym = "[k]" + sym
            frames.append(sym)
        kind = "librdkafka broker thread" if comm.startswith("rdk:broker") else (
            "tokio worker" if comm.startswith("tokio") else comm)
        comp = "other"
        if kind == "tokio worker":
            stack = "\n".join(frames)
            comp = next((n for n, rx in COMPONENTS if re.search(rx, stack)), "other")
        else:
            comp = kind
        threads[kind] += 1
        by_comp[(kind, comp)] += 1
        by_leaf[(kind, leaf_kind(frames))] += 1
    total = sum(threads.values())

    def fmt(n):
        return f"{100 * n / total:5.1f} %" + (f"  {us * n / total:5.2f} µs" if us else "")

    print(f"{total} samples")
    print("\nby component")
    for (kind, comp), n in by_comp.most_common():
        print(f"  {fmt(n)}  {kind}: {comp}")
    print("\nby what the leaf was doing")
    for (kind, leaf), n in by_leaf.most_common():
        if n / total >= 0.003:
            print(f"  {fmt(n)}  {kind}: {leaf}")


if __name__ == "__main__":
    main()
