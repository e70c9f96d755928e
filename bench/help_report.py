#!/usr/bin/env python3
"""Turns bench/help.sh's raw output into the help-centre section of bench/RESULTS.md.

  help_report.py OUT RESULTS

The SQLite section sits between `<!-- help:begin -->` and `<!-- help:end -->`, the
PostgreSQL one between `<!-- help-postgres:begin -->` and `<!-- help-postgres:end -->`;
each replaces an earlier one or is appended. bench/report.py keeps both when it
rewrites the file.
"""

import statistics
import sys

from sections import env, main, wrk_run



def markers(backend):
    tag = "help" if backend == "sqlite" else f"help-{backend}"
    return f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"


def measure(path):
    run = wrk_run(path)
    return run["rps"], run["p50"], run["p99"], run["bad"]


def medians(out, name, rounds):
    runs = [measure(out / f"{name}.{r}.txt") for r in range(1, rounds + 1)]
    return (
        statistics.median(r[0] for r in runs),
        statistics.median(r[1] for r in runs),
        statistics.median(r[2] for r in runs),
        sum(r[3] for r in runs),
    )


def section(out):
    m = env(out / "machine.env")
    backend = m.get("backend", "sqlite")
    begin, end = markers(backend)
    store = "SQLite" if backend == "sqlite" else f"PostgreSQL ({m.get('pg_version', '?')}, durable commits, on this machine)"
    rounds = int(m.get("rounds", "3"))
    bare = medians(out, "bare", rounds)
    rows = [("bare tantivy query (`helpbare`, baseline)", bare), ("help-centre search (`GET /api/v1/help/articles`)", medians(out, "search", rounds)), ("assistant answer (`POST …/messages`, anonymous)", medians(out, "assistant", rounds))]
    lines = [
        begin,
        f"## Help centre and assistant on {store.split(' (')[0]} (`bench/help.sh`)",
        "",
        f"- Date (UTC): {m.get('date', '?')}; commit `{m.get('git', '?')}`",
        f"- Machine: {m.get('nproc', '?')} cores ({m.get('cpu', '?')}), "
        f"{int(m.get('mem_kb', '0')) / 1048576:.1f} GiB RAM, Linux {m.get('kernel', '?')}",
        f"- Command: `{m.get('command', 'bash bench/help.sh')}`; whole run "
        f"{int(m.get('whole_run_seconds', '0')) / 60:.1f} min",
        f"- {m.get('n', '?')} published articles (80 % public, 10 % for customers, 10 % internal; ~130 words each), "
        f"{store}, one node; queries of two random support words; wrk "
        f"{m.get('threads', '?')} threads × {m.get('connections', '?')} connections × {m.get('duration', '?')} s, "
        f"{rounds} rounds interleaved, from the same machine over TLS",
        "- The baseline queries the same in-memory tantivy index with the visitor's audience filter and "
        "returns the same JSON shape; Palisade adds the audience filter from Cedar, the per-hit "
        "re-authorisation, the shared rate limits (reserved from the database in blocks), the index "
        "freshness check and its middleware. The assistant adds redaction, intent rules, grounding and "
        "one commit per answer (the customer's message and the answer, each sealed).",
        "",
        "| scenario | req/s (median) | p50 ms | p99 ms | vs bare | unexpected statuses |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (rps, p50, p99, bad) in rows:
        lines.append(f"| {name} | {rps:,.0f} | {p50:.1f} | {p99:.1f} | {rps / bare[0]:.3f}× | {bad} |")
    lines += ["", end]
    return begin, end, "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv, __doc__, section))
