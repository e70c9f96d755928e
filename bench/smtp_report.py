#!/usr/bin/env python3
"""Turns bench/smtp.sh's raw output into the SMTP section of bench/RESULTS.md.

  smtp_report.py OUT RESULTS

The section sits between `<!-- smtp:begin -->` and `<!-- smtp:end -->`; it replaces
an earlier one or is appended. bench/report.py keeps it when it rewrites the file.
"""

import json
import statistics
import sys

from sections import env, main

BEGIN, END = "<!-- smtp:begin -->", "<!-- smtp:end -->"


def runs(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip().startswith("{")]


def fmt(value, digits=0):
    return f"{value:,.{digits}f}"


def section(out):
    machine = env(out / "machine.env")
    senders = machine.get("senders", "1 8 64").split()
    lines = [
        BEGIN,
        "## SMTP: messages accepted end to end (`bench/smtp.sh`)",
        "",
        f"- Date (UTC): {machine.get('date', '?')}; commit `{machine.get('git', '?')}`",
        f"- Machine: {machine.get('nproc', '?')} cores ({machine.get('cpu', '?')}), "
        f"{int(machine.get('mem_kb', '0')) / 1048576:.1f} GiB RAM, Linux {machine.get('kernel', '?')}",
        f"- Command: `{machine.get('command', 'bash bench/smtp.sh')}`; whole run "
        f"{int(machine.get('whole_run_seconds', '0')) / 60:.1f} min",
        f"- {machine.get('rounds', '?')} rounds × {machine.get('duration', '?')} s per (target, senders), "
        "the baselines and Palisade interleaved; load generator `smtpload` (one connection at a time "
        "per sender, a new one every 100 messages, one message after another, ~2 kB bodies) from "
        "127.0.0.2 on the same machine",
        "- Palisade does, before each 250: strict reading, SPF against dnsmasq on 127.0.0.1 "
        "(DNS cache off), a new customer account on a sender's first mail, a new sealed ticket, "
        "the audit entry, commit. The baselines: `smtpbare` reads DATA the same way and answers 250; "
        f"Postfix {machine.get('postfix_version', '?')} (Debian), an instance of its own on loopback, queues "
        "each message durably and discards it, with no sender checks at all.",
        "",
        "Medians over the rounds; latency is from the end of DATA to the reply, in milliseconds;",
        "“vs Postfix” and “vs bare” are Palisade's messages per second divided by that baseline's in the same run.",
        "",
    ]
    for backend in ("sqlite", "postgres"):
        cur = out / backend
        if not cur.exists():
            continue
        db = env(cur / "db.env")
        title = "SQLite (synchronous=FULL)" if backend == "sqlite" else (db.get("pg_version", "PostgreSQL") + ", durable commits")
        lines += [
            f"### {title}",
            "",
            "| senders | Palisade msg/s | p50 ms | p99 ms | Postfix msg/s | Postfix p99 ms | vs Postfix "
            "| bare msg/s | bare p99 ms | vs bare | failures |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for s in senders:
            pal, bare = runs(cur / f"palisade-{s}.jsonl"), runs(cur / f"bare-{s}.jsonl")
            postfix = runs(cur / f"postfix-{s}.jsonl")
            if not pal or not bare:
                continue
            med = lambda rs, key: statistics.median(r[key] for r in rs)  # noqa: E731
            ratio = med(pal, "per_second") / med(bare, "per_second") if med(bare, "per_second") else 0
            if postfix and med(postfix, "per_second"):
                pf = (
                    f"{fmt(med(postfix, 'per_second'))} | {fmt(med(postfix, 'p99_ms'), 1)} | "
                    f"{med(pal, 'per_second') / med(postfix, 'per_second'):.3f}"
                )
            else:
                pf = "– | – | –"
            failures = sum(r["failures"] for r in pal)
            lines.append(
                f"| {s} | {fmt(med(pal, 'per_second'), 1)} | {fmt(med(pal, 'p50_ms'), 1)} | {fmt(med(pal, 'p99_ms'), 1)} "
                f"| {pf} | {fmt(med(bare, 'per_second'))} | {fmt(med(bare, 'p99_ms'), 2)} | {ratio:.4f} | {failures} |"
            )
            failed = [r["last_failure"] for r in pal if r.get("last_failure")]
            if failed:
                lines.append(f"<!-- last failure with {s} senders: {failed[-1]} -->")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv, __doc__, lambda out: (BEGIN, END, section(out))))
