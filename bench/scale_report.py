#!/usr/bin/env python3
"""Turns bench/scale.sh's raw output into the scale section of bench/RESULTS.md.

  scale_report.py OUT RESULTS

The section sits between `<!-- scale:begin -->` and `<!-- scale:end -->`; it replaces
an earlier one or is appended, and bench/report.py keeps it when it rewrites the file.
Plans come from auto_explain's entries in the PostgreSQL log of each size's plan run;
each scenario's heaviest statements (pg_stat_statements, measured rounds) are matched
to the slowest sampled plan of the same statement.
"""

import csv
import re
import statistics
import sys

from sections import env, main, whole_run, wrk_run

BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"
SCENARIOS = (
    ("read", "read a ticket (`GET /api/v1/tickets/{id}`)"),
    ("search", "search tickets (`GET /api/v1/tickets/search`)"),
    ("create", "create a ticket (`POST /api/v1/tickets`)"),
)
AIM = 1.5
PLANS_PER_SCENARIO = 2
PLAN_LINES = 40


def medians(cur, scenario, rounds):
    runs = [wrk_run(cur / f"{scenario}-{r}.txt") for r in range(1, rounds + 1)]
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "p50": statistics.median(r["p50"] for r in runs),
        "p99": statistics.median(r["p99"] for r in runs),
        "bad": sum(r["bad"] for r in runs),
        "errors": "; ".join(r["errors"] for r in runs if r["errors"]),
    }


def normalise(query):
    """Both pg_stat_statements' text and the logged text, with every parameter and
    constant replaced, so the same statement compares equal."""
    q = re.sub(r"'(?:[^']|'')*'", "?", query)
    q = re.sub(r"\$\d+", "?", q)
    q = re.sub(r"\b\d+\b", "?", q)
    return re.sub(r"\s+", " ", q).strip()


def logged_plans(path):
    """{normalised query: (duration ms, plan text)}, the slowest sample of each."""
    plans = {}
    if not path.exists():
        return plans
    entry = None
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        found = re.search(r"LOG:  duration: ([\d.]+) ms  plan:", line)
        if found:
            entry = [float(found.group(1)), []]
            entries.append(entry)
        elif entry is not None and line.startswith("\t"):
            entry[1].append(line[1:])
        else:
            entry = None
    for duration, lines in entries:
        text = [line for line in lines if not line.startswith("Query Parameters:")]
        if not text or not text[0].startswith("Query Text: "):
            continue
        query = normalise(text[0][len("Query Text: "):])
        if query not in plans or plans[query][0] < duration:
            plans[query] = (duration, "\n".join(text[1:]))
    return plans


def heaviest(path, count):
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))[:count]


def fmt_bytes(n):
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def section(out):
    m = env(out / "machine.env")
    rounds = int(m.get("rounds", "3"))
    sizes = [int(s) for s in m.get("sizes", "").split()]
    runs = {}
    for n in sizes:
        cur = out / f"size-{n}"
        runs[n] = {"env": env(cur / "db.env"), "cur": cur}
        for scenario, _ in SCENARIOS:
            runs[n][scenario] = medians(cur, scenario, rounds)
    smallest, largest = min(sizes), max(sizes)
    pg = runs[smallest]["env"].get("pg_version", "PostgreSQL")
    lines = [
        BEGIN,
        "## Scale (PostgreSQL)",
        "",
        f"Measured {m.get('date', '?')} at `{m.get('git', '?')}` by `{m.get('command', 'bash bench/scale.sh')}` "
        f"on {m.get('nproc', '?')} cores ({m.get('cpu', '?')}), {int(m.get('mem_kb', '0')) // 1024:,} MiB, "
        f"{pg} ({runs[smallest]['env'].get('pg_memory', 'memory settings not recorded')}), durable commits; whole run {whole_run(m)}. "
        f"wrk: {m.get('connections', '?')} connections, {m.get('threads', '?')} threads, "
        f"{m.get('duration', '?')} s per round, medians of {rounds} rounds. Each size is a fresh installation "
        f"with {int(m.get('articles', '0')):,} published articles beside its tickets.",
        "",
        "| scenario | " + " | ".join(f"{n:,} tickets: req/s, p50, p99" for n in sizes)
        + f" | p99 at {largest:,} ÷ at {smallest:,} (aim ≤ {AIM}×) |",
        "| --- | " + " | ".join("---:" for _ in sizes) + " | ---: |",
    ]
    for scenario, label in SCENARIOS:
        cells = []
        for n in sizes:
            r = runs[n][scenario]
            flag = f" **{r['bad']} unexpected**" if r["bad"] else ""
            if r["errors"]:
                flag += f" (socket errors: {r['errors']})"
            cells.append(f"{r['rps']:,.0f}, {r['p50']:.1f} ms, {r['p99']:.1f} ms{flag}")
        silent = [n for n in sizes if not runs[n][scenario]["rps"] or not runs[n][scenario]["p99"]]
        if silent:
            # Nothing answered within a round: there is no latency to compare, and
            # that is the worst result, not a met aim.
            at = ", ".join(f"{n:,}" for n in silent)
            lines.append(f"| {label} | " + " | ".join(cells) + f" | no answers at {at} (**not met**) |")
            continue
        ratio = runs[largest][scenario]["p99"] / runs[smallest][scenario]["p99"]
        verdict = "met" if ratio <= AIM else "**not met**"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio:.2f}× ({verdict}) |")
    lines += [
        "",
        "| size | loaded in | database | term index rows | `serve` resident (peak) after the rounds |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for n in sizes:
        e = runs[n]["env"]
        secs = int(e.get("seed_seconds", "0"))
        rate = f" ({n / secs:,.0f} tickets/s)" if secs else ""
        lines.append(
            f"| {n:,} | {secs} s{rate}, articles {e.get('article_seed_seconds', '?')} s "
            f"| {fmt_bytes(e.get('database_bytes', '0'))} | {int(e.get('search_terms_rows', '0')):,} "
            f"| {int(e.get('serve_rss_kb', '0')) // 1024:,} MiB ({int(e.get('serve_peak_rss_kb', '0')) // 1024:,} MiB) |"
        )
    cur = runs[largest]["cur"]
    relations = heaviest(cur / "relations.csv", 8)
    if relations:
        lines += [
            "",
            f"Largest tables at {largest:,} tickets (with their indexes): "
            + ", ".join(f"`{r['relation']}` {fmt_bytes(r['bytes'])}" for r in relations)
            + ".",
        ]
    for n in sorted({smallest, largest}, reverse=True):
        cur = runs[n]["cur"]
        lines += [
            "",
            f"### Hot statements and their plans at {n:,} tickets",
            "",
            "Each scenario's heaviest statements by total time in the measured rounds (pg_stat_statements, "
            "lock waits included), with the slowest plan auto_explain sampled for the same statement "
            "(EXPLAIN ANALYZE, BUFFERS) in the unmeasured plan run.",
        ]
        for scenario, label in SCENARIOS:
            plans = logged_plans(cur / f"{scenario}.plans.log")
            lines += ["", f"**{label}**", ""]
            for row in heaviest(cur / f"{scenario}.statements.csv", PLANS_PER_SCENARIO):
                query = row["query"]
                shown = query if len(query) <= 240 else query[:240] + " …"
                lines.append(
                    f"- {int(row['calls']):,} calls, mean {float(row['mean_ms']):.3f} ms, "
                    f"total {float(row['total_ms']):,.0f} ms: `{shown}`"
                )
                plan = plans.get(normalise(query))
                if plan is None:
                    lines.append("  (no plan sampled for it)")
                    continue
                plan_lines = plan[1].splitlines()
                if len(plan_lines) > PLAN_LINES:
                    plan_lines = plan_lines[:PLAN_LINES] + [f"… {len(plan_lines) - PLAN_LINES} more lines in last-run"]
                lines += ["", f"  ```text\n  slowest sample: {plan[0]:.3f} ms"]
                lines += [f"  {line}" for line in plan_lines]
                lines += ["  ```"]
    lines.append(END)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv, __doc__, lambda out: (BEGIN, END, section(out))))
