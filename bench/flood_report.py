#!/usr/bin/env python3
"""Turns bench/flood.sh's raw output into the flood section of bench/RESULTS.md.

  flood_report.py OUT RESULTS

The section sits between `<!-- flood:begin -->` and `<!-- flood:end -->`; it replaces
an earlier one or is appended, and bench/report.py keeps it when it rewrites the file.
"""

import json
import statistics
import sys

from sections import env, main, whole_run, wrk_run

BEGIN, END = "<!-- flood:begin -->", "<!-- flood:end -->"
AIM = 2.0


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def backend_rows(cur, rounds):
    idle = [wrk_run(cur / f"idle-{r}.txt") for r in range(1, rounds + 1)]
    flood = [wrk_run(cur / f"flood-{r}.txt") for r in range(1, rounds + 1)]
    floods = [json.loads((cur / f"flood-{r}.json").read_text()) for r in range(1, rounds + 1)]
    written = []
    for r in range(1, rounds + 1):
        a0, o0, a1, o1 = (int(x) for x in (cur / f"written-{r}.txt").read_text().split())
        written.append((a1 - a0, o1 - o0))
    answers = {}
    for f in floods:
        for key, count in f["answers"].items():
            answers[key] = answers.get(key, 0) + count
    requests = sum(answers.values())
    return idle, flood, floods, written, answers, requests


def section(out):
    m = env(out / "machine.env")
    rounds = int(m.get("rounds", "3"))
    lines = [
        BEGIN,
        "## Floods (`bench/flood.sh`)",
        "",
        f"Measured {m.get('date', '?')} at `{m.get('git', '?')}` by `{m.get('command', 'bash bench/flood.sh')}` "
        f"on {m.get('nproc', '?')} cores ({m.get('cpu', '?')}); whole run {whole_run(m)}. "
        f"An agent reads random tickets (wrk, {m.get('connections', '?')} connections, {m.get('duration', '?')} s "
        f"rounds, medians of {rounds}) idle and while `floodload` keeps {m.get('sign_ins', '?')} sign-ins and "
        f"{m.get('resets', '?')} password resets in flight from 5,000 loopback addresses, a new TLS connection "
        "each. Aim: p99 under the flood within 2× of idle.",
        "",
        "| backend | idle: req/s, p50, p99 | flooded: req/s, p50, p99 | p99 flooded ÷ idle (aim ≤ 2×) "
        "| flood answered per s: sign-ins, resets | sign-in p50 / p99 | audit entries, queued mails per flood request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    details = []
    for backend in m.get("backends", "sqlite postgres").split():
        cur = out / backend
        if not cur.exists():
            continue
        idle, flood, floods, written, answers, requests = backend_rows(cur, rounds)
        ratio = median_of(flood, "p99") / max(median_of(idle, "p99"), 1e-9)
        verdict = "met" if ratio <= AIM else "**not met**"
        bad = sum(r["bad"] for r in idle + flood)
        flag = f" **{bad} unexpected statuses**" if bad else ""
        audit = sum(w[0] for w in written)
        mails = sum(w[1] for w in written)
        e = env(cur / "db.env")
        lines.append(
            f"| {backend}{flag} "
            f"| {median_of(idle, 'rps'):,.0f}, {median_of(idle, 'p50'):.1f} ms, {median_of(idle, 'p99'):.1f} ms "
            f"| {median_of(flood, 'rps'):,.0f}, {median_of(flood, 'p50'):.1f} ms, {median_of(flood, 'p99'):.1f} ms "
            f"| {ratio:.2f}× ({verdict}) "
            f"| {statistics.median(f['sign_ins_per_s'] for f in floods):,.0f}, "
            f"{statistics.median(f['resets_per_s'] for f in floods):,.0f} "
            f"| {statistics.median(f['sign_in_p50_ms'] for f in floods):,.0f} / "
            f"{statistics.median(f['sign_in_p99_ms'] for f in floods):,.0f} ms "
            f"| {audit / max(requests, 1):.3f}, {mails / max(requests, 1):.3f} |"
        )
        details.append(
            f"- {backend}: flood answers over all rounds: "
            + ", ".join(f"{k}: {v:,}" for k, v in sorted(answers.items()))
            + f"; {audit:,} audit entries and {mails:,} queued mails written for them; "
            f"`serve` resident {int(e.get('serve_rss_kb', '0')) // 1024:,} MiB "
            f"(peak {int(e.get('serve_peak_rss_kb', '0')) // 1024:,} MiB) after the rounds; "
            f"background reset failures logged: {e.get('reset_failures', '?')}."
        )
    lines += [""] + details + [END]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv, __doc__, lambda out: (BEGIN, END, section(out))))
