#!/usr/bin/env python3
"""Helpers for bench/run.sh.

  report.py snapshot FILE PID   record per-process and machine CPU counters (JSON), and the
                                CPU of PID's waited-for children (run.sh's wrk runs)
  report.py report OUT RESULTS  turn the wrk outputs under OUT into RESULTS (markdown)

wrk prints latencies with units (us, ms, s); everything here is normalised to ms.
"""

import csv
import json
import os
import re
import statistics
import sys
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
SCENARIOS = ("bare", "read", "create")
HISTORY_KEEP = 20


# --- CPU snapshots ------------------------------------------------------------------


def snapshot(path, shell_pid):
    procs = {}
    children = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: split around the last ')'.
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        ppid = int(fields[1])
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        procs[entry] = [comm, ppid, ticks]
        if entry == shell_pid:
            children = int(fields[13]) + int(fields[14])  # cutime + cstime
    with open("/proc/stat") as f:
        stat = f.read().splitlines()
    cpu = [int(x) for x in stat[0].split()[1:]]
    ncpu = sum(1 for line in stat if re.match(r"cpu\d", line))
    with open("/proc/uptime") as f:
        uptime = float(f.readline().split()[0])
    Path(path).write_text(json.dumps({"uptime": uptime, "cpu": cpu, "ncpu": ncpu, "procs": procs, "children": children}))


def descendants(procs, root):
    """pids in the process tree under (and including) root."""
    children = {}
    for pid, (_, ppid, _) in procs.items():
        children.setdefault(str(ppid), []).append(pid)
    out, todo = set(), [str(root)]
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        out.add(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_usage(before, after, pids):
    """Percent of one core used by each group over the interval, plus machine idle/iowait."""
    dt = max(after["uptime"] - before["uptime"], 1e-6)
    p0, p1 = before["procs"], after["procs"]

    def group_ticks(members):
        total = 0
        for pid in members:
            if pid in p1:
                total += p1[pid][2] - (p0[pid][2] if pid in p0 else 0)
        return total

    groups = {}
    if pids.get("server"):
        groups["palisade"] = {str(pids["server"])}
    if pids.get("bare"):
        groups["bare"] = {str(pids["bare"])}
    if pids.get("pg"):
        groups["postgres"] = descendants(p1, pids["pg"]) | descendants(p0, pids["pg"])
    ticks = {name: group_ticks(m) for name, m in groups.items()}
    # wrk ran (and was waited for) between the two snapshots; so did one snapshot process.
    ticks["wrk"] = after.get("children", 0) - before.get("children", 0)
    usage = {name: 100.0 * t / CLK_TCK / dt for name, t in ticks.items()}
    c0, c1 = before["cpu"], after["cpu"]
    total = sum(c1[:8]) - sum(c0[:8])
    if total > 0:
        idle = c1[3] - c0[3]
        iowait = c1[4] - c0[4]
        usage["idle"] = 100.0 * idle / total
        usage["iowait"] = 100.0 * iowait / total
        # /proc/stat: user nice system idle iowait irq softirq steal. Interrupt time (the
        # loopback network stack runs in softirq) and steal are not charged to processes.
        ncpu = after.get("ncpu", 1)
        irq = (c1[5] - c0[5]) + (c1[6] - c0[6])
        steal = c1[7] - c0[7]
        usage["irq"] = 100.0 * irq / total * ncpu
        usage["steal"] = 100.0 * steal / total * ncpu
        process_time = 100.0 * (total - idle - iowait - irq - steal) / total * ncpu
        # Process time that is not the benchmark's: other users of the machine.
        usage["other"] = max(0.0, process_time - sum(v for k, v in usage.items() if k in ticks))
    usage["seconds"] = dt
    return usage


# --- wrk output -----------------------------------------------------------------------

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"unparsable latency {text!r}")
    return float(m.group(1)) * UNITS_MS[m.group(2)]


def parse_wrk(text):
    r = {"errors": 0, "bad_status": None, "non2xx": 0}
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("Requests/sec:"):
            r["rps"] = float(s.split()[1])
        elif re.match(r"^50(\.0+)?%\s", s):
            r["p50"] = to_ms(s.split()[1])
        elif re.match(r"^99(\.0+)?%\s", s):
            r["p99"] = to_ms(s.split()[1])
        elif re.match(r"^\d+ requests in", s):
            r["requests"] = int(s.split()[0])
        elif s.startswith("Socket errors:"):
            r["errors"] += sum(int(n) for n in re.findall(r"\d+", s))
        elif s.startswith("Non-2xx or 3xx responses:"):
            r["non2xx"] = int(s.split(":")[1])
        elif s.startswith("BENCH_BAD_STATUS"):
            r["bad_status"] = int(s.split()[1])
    for key in ("rps", "p50", "p99"):
        if key not in r:
            raise ValueError(f"wrk output lacks {key}")
    r["valid"] = r["errors"] == 0 and r["non2xx"] == 0 and r["bad_status"] == 0
    return r


def read_env(path):
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def load_backend(d):
    env = read_env(d / "db.env")
    pids = {
        "server": env.get("server_pid"),
        "bare": env.get("bare_pid"),
        "pg": env.get("pg_pid"),
    }
    runs = {s: [] for s in SCENARIOS}
    for f in sorted(d.glob("*.txt")):
        m = re.fullmatch(r"(bare|read|create)-(\d+)\.txt", f.name)
        if not m:
            continue
        run = parse_wrk(f.read_text())
        run["round"] = int(m.group(2))
        c0, c1 = d / f"{f.stem}.cpu0.json", d / f"{f.stem}.cpu1.json"
        if c0.exists() and c1.exists():
            run["cpu"] = cpu_usage(json.loads(c0.read_text()), json.loads(c1.read_text()), pids)
        runs[m.group(1)].append(run)
    for s in SCENARIOS:
        runs[s].sort(key=lambda r: r["round"])
    seed = {}
    seed_txt = d / "seed.txt"
    if seed_txt.exists():
        m = re.search(r"done, (\d+) tickets for (\d+) customers in ([0-9.]+)s", seed_txt.read_text())
        if m:
            seed = {"tickets": int(m.group(1)), "customers": int(m.group(2)), "seconds": float(m.group(3))}
    return env, runs, seed


def per_request_us(runs, group):
    """Median CPU microseconds per request used by a process group."""
    vals = [
        r["cpu"][group] / 100.0 * r["cpu"]["seconds"] / r["requests"] * 1e6
        for r in runs
        if "cpu" in r and group in r["cpu"] and r.get("requests")
    ]
    return statistics.median(vals) if vals else None


def med(runs, key):
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else None


def med_cpu(runs, key):
    values = [r["cpu"][key] for r in runs if "cpu" in r and key in r["cpu"]]
    return statistics.median(values) if values else None


def fmt(v, digits=2):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}f}"


def fsync_rate(out):
    """ops/sec of fdatasync for one 8kB write, from pg_test_fsync's output."""
    f = out / "pg_test_fsync.txt"
    if not f.exists():
        return None
    text = f.read_text()
    section = text.split("Compare file sync methods using one 8kB write", 1)
    if len(section) < 2:
        return None
    m = re.search(r"fdatasync\s+([0-9.]+) ops/sec", section[1])
    return float(m.group(1)) if m else None


FOCUS = re.compile(
    r"palisade_web::.*(create_ticket|readable_ticket|authorize|from_request_parts)"
    r"|palisade_store::.*(get_ticket|create_ticket|insert_message|index_terms|append_audit|get_user|related"
    r"|find_live_session|requester_key|user_teams|load_key|next_ticket_number)"
    r"|palisade_identity::.*authenticate"
    r"|palisade_policy::engine::PolicyEngine::authorize"
    r"|cedar_policy_core::entities::Entities::from_entities"
    r"|cedar_policy::api::Authorizer::is_authorized"
    r"|sqlx_sqlite::connection::worker::ConnectionWorker::ping"
    r"|sqlx_core::pool::inner::PoolInner<DB>::acquire"
    r"|sqlx_core::pool::connection::PoolConnection<DB>::return_to_pool"
    r"|^sqlite3_step$|sqlite3BtreeCommitPhaseOne|^fsync$|^fdatasync$"
    r"|rustls::conn::ConnectionCommon<Data>::(read_tls|write_tls)|rustls::conn::ConnectionCore<Data>::process_new_packets"
    r"|<T as aead::Aead>::(encrypt|decrypt)"
    r"|serde_json::ser::to_writer|hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>::poll_catch"
)


def clean_symbol(sym):
    sym = sym.replace("::{{closure}}", "")
    sym = re.sub(r"<impl ([\w:]+::)?(\w+)>", r"\2", sym)
    return sym


def perf_focus(path, n):
    """Inclusive time of the frames that tell where a request's time goes."""
    if not path.exists():
        return []
    rows, seen = [], set()
    for line in path.read_text().splitlines():
        m = re.match(r"^\s+([0-9.]+)%\s+[0-9.]+%\s+\[[.k]\]\s+(.*\S)\s*$", line)
        if not m or not FOCUS.search(m.group(2)):
            continue
        sym = clean_symbol(m.group(2))
        if sym in seen:
            continue
        seen.add(sym)
        rows.append(f"{float(m.group(1)):5.1f}%  {sym[:150]}")
    return rows[:n]


def perf_top(path, n):
    """The first n sample lines of a `perf report --stdio` output."""
    if not path.exists():
        return []
    rows = [line.rstrip() for line in path.read_text().splitlines() if re.match(r"^\s+[0-9.]+%", line)]
    return [re.sub(r"\s+", " ", r).strip()[:160] for r in rows[:n]]


# --- the report -------------------------------------------------------------------------


def add_statements(add, scenario, path):
    """The heaviest statements of a scenario by PostgreSQL's own count (pg_stat_statements,
    reset before the scenario's rounds); time includes waiting for row locks."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))[:8]
    if not rows:
        return
    add(f"<details><summary>PostgreSQL's heaviest statements during {scenario} (pg_stat_statements)</summary>")
    add("")
    add("| calls | total ms | mean ms | rows | statement |")
    add("| ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        query = r["query"].replace("|", "\\|")
        if len(query) > 140:
            query = query[:137] + "…"
        add(f"| {r['calls']} | {r['total_ms']} | {r['mean_ms']} | {r['rows']} | `{query}` |")
    add("")
    add("</details>")
    add("")


def report(out_dir, results_path):
    out = Path(out_dir)
    machine = read_env(out / "machine.env")
    sync_rate = fsync_rate(out)
    backends = [b for b in ("sqlite", "postgres") if (out / b).is_dir()]
    lines = []
    add = lines.append
    mem_gib = int(machine.get("mem_kb", "0")) / 1024 / 1024
    add("# Benchmark results")
    add("")
    add("Written by `bench/run.sh` (see `bench/README.md`); overwritten by every run. All traffic is")
    add("HTTPS on 127.0.0.1, load generator and servers on the same machine.")
    add("")
    add(f"- Date (UTC): {machine.get('date', '?')}; commit `{machine.get('git', '?')}`")
    add(
        f"- Machine: {machine.get('nproc', '?')} cores ({machine.get('cpu', '?')}), "
        f"{mem_gib:.1f} GiB RAM, Linux {machine.get('kernel', '?')}"
    )
    add(f"- Load generator: {machine.get('wrk', 'wrk')}")
    add(
        f"- N = {int(machine.get('n', '0')):,} seeded tickets per backend; "
        f"{machine.get('rounds', '?')} rounds × {machine.get('duration', '?')} s per scenario, "
        f"{machine.get('connections', '?')} connections, {machine.get('threads', '?')} wrk threads; "
        "bare and read interleaved (bare, read, bare, read, …), then create"
    )
    add(f"- Command: `{machine.get('command', 'bash bench/run.sh')}`")
    if "total_seconds" in machine:
        add(f"- Whole run (build, seeding, measuring): {int(machine['total_seconds']) / 60:.1f} min")
    seeds = []
    for b in backends:
        seed = load_backend(out / b)[2]
        if seed:
            seeds.append(f"{b} {seed['seconds'] / 60:.1f} min")
    if seeds:
        add(f"- Seeding N tickets: {', '.join(seeds)} (part of the whole run)")
    add("")
    add("Values are medians over the rounds; latency in milliseconds; “vs bare” is requests per")
    add("second divided by the bare axum handler's, measured in the same run on the same TLS setup.")
    add("")

    summary = {}
    notes = []
    for b in backends:
        env, runs, seed = load_backend(out / b)
        bare_rps = med(runs["bare"], "rps")
        title = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[b]
        add(f"## {title}")
        add("")
        if b == "sqlite":
            add(
                f"SQLite {env.get('sqlite_version', '?')}, journal_mode={env.get('sqlite_journal_mode', '?')}, "
                f"synchronous={machine.get('sqlite_sync', '?')} (set by Palisade on every connection)."
            )
        else:
            add(
                f"{env.get('pg_version', 'PostgreSQL')}, fsync={env.get('pg_fsync', '?')}, "
                f"synchronous_commit={env.get('pg_synchronous_commit', '?')}, "
                f"wal_sync_method={env.get('pg_wal_sync_method', '?')}, "
                f"shared_buffers={env.get('pg_shared_buffers', '?')}; throwaway cluster on loopback."
            )
        if seed:
            add(
                f"Seeded {seed['tickets']:,} tickets for {seed['customers']:,} customers through the store "
                f"in {seed['seconds']:.1f} s ({seed['tickets'] / max(seed['seconds'], 1e-9):,.0f} tickets/s, "
                "batches of 500 per transaction, audit entries included)."
            )
        add(
            f"Response sizes: ticket view {env.get('ticket_view_bytes', '?')} bytes, "
            f"bare {env.get('bare_view_bytes', '?')} bytes. After the run: {env.get('tickets_after', '?')} tickets, "
            f"{env.get('terms_per_ticket', '?')} search-term rows per ticket merged into the term index "
            f"({env.get('pending_texts', '?')} texts still pending), "
            f"{env.get('audit_rows', '?')} audit entries"
            + (f", WAL file {env['wal_bytes']} bytes" if env.get("wal_bytes") else "")
            + "."
        )
        if env.get("serve_peak_rss_kb"):
            add(
                f"Memory of `palisade serve` after the run: {int(env['serve_rss_kb']) / 1024:.0f} MiB resident, "
                f"peak {int(env['serve_peak_rss_kb']) / 1024:.0f} MiB."
            )
        add("")
        add("| scenario | req/s | p50 ms | p99 ms | vs bare | req/s per round | bad |")
        add("| --- | ---: | ---: | ---: | ---: | --- | --- |")
        for s in SCENARIOS:
            rs = runs[s]
            if not rs:
                continue
            rps = med(rs, "rps")
            if s == "bare":
                ratio = "1"
            elif bare_rps:
                ratio = f"{rps / bare_rps:.3f}" if rps / bare_rps < 0.1 else f"{rps / bare_rps:.2f}"
            else:
                ratio = "–"
            per_round = ", ".join(fmt(r["rps"], 0) for r in rs)
            bad = sum((r["bad_status"] or 0) + r["errors"] + r["non2xx"] for r in rs)
            invalid = [r for r in rs if not r["valid"]]
            bad_text = "0" if not invalid else f"**{bad} — INVALID ({len(invalid)} rounds)**"
            label = {
                "bare": "bare axum `GET /ticket`",
                "read": "agent reads a ticket",
                "create": "agent creates a ticket",
            }[s]
            add(
                f"| {label} | {fmt(rps, 0)} | {fmt(med(rs, 'p50'))} | {fmt(med(rs, 'p99'))} | {ratio} | "
                f"{per_round} | {bad_text} |"
            )
            summary[(b, s)] = {"rps": rps, "ratio": rps / bare_rps if bare_rps else None, "invalid": bool(invalid)}
        add("")
        add("CPU during the runs (median; % of one core, except machine idle and iowait: % of all "
            f"{machine.get('nproc', '?')} cores), and server CPU time per request:")
        add("")
        has_pg = b == "postgres"
        head = (
            "| scenario | server | " + ("postgres | " if has_pg else "") + "wrk | irq+softirq | steal | "
            "other processes | machine idle | iowait | server µs/req |"
        )
        add(head)
        add("| --- | ---: | " + ("---: | " if has_pg else "") + "---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for s in SCENARIOS:
            rs = runs[s]
            if not rs or not any("cpu" in r for r in rs):
                continue
            server_key = "bare" if s == "bare" else "palisade"
            server = med_cpu(rs, server_key)
            per_req = per_request_us(rs, server_key)
            row = f"| {s} | {fmt(server, 0)}% | "
            if has_pg:
                row += f"{fmt(med_cpu(rs, 'postgres'), 0)}% | "
            row += (
                f"{fmt(med_cpu(rs, 'wrk'), 0)}% | {fmt(med_cpu(rs, 'irq'), 0)}% | {fmt(med_cpu(rs, 'steal'), 0)}% | "
                f"{fmt(med_cpu(rs, 'other'), 0)}% | {fmt(med_cpu(rs, 'idle'), 0)}% | "
                f"{fmt(med_cpu(rs, 'iowait'), 0)}% | {fmt(per_req, 0)} |"
            )
            add(row)
        add("")
        for scenario in ("read", "create"):
            statements = out / b / f"{scenario}.statements.csv"
            if statements.is_file():
                add_statements(add, scenario, statements)
        notes.append((b, runs, env))

    # --- aims and noise ---
    aims = []
    for b in backends:
        v = summary.get((b, "read"))
        if v and v["ratio"] is not None:
            verdict = "met" if v["ratio"] >= 0.5 else "**not met**"
            aims.append(f"{b} {v['ratio']:.2f}× ({verdict})")
    if aims:
        add("**Aim** (reading a ticket as an authorised agent: at least half the bare handler's requests per")
        add("second, same run): " + "; ".join(aims) + ".")
        add("")
    noisy = []
    for b, runs, _ in notes:
        for s_name in SCENARIOS:
            other = med_cpu(runs[s_name], "other")
            if other is not None and other >= 10:
                noisy.append(f"{b} {s_name} {other:.0f}%")
    if noisy:
        add(
            "**Noise:** processes outside the benchmark used CPU during some scenarios (median share of one "
            "core: " + ", ".join(noisy) + "); the machine was shared, so absolute numbers of those runs are low."
        )
        add("")

    # --- where the time goes ---
    add("## Where the time goes")
    add("")
    if sync_rate:
        add(
            f"This disk sustains about {sync_rate:,.0f} `fdatasync` calls per second for one 8 kB write "
            "(`pg_test_fsync`, same filesystem as the databases), i.e. "
            f"{1000 / sync_rate:.2f} ms per durable commit when commits are not grouped."
        )
        add("")
    for b, runs, env in notes:
        title = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[b]
        read, create, bare = runs["read"], runs["create"], runs["bare"]
        if read:
            ratio = summary.get((b, "read"), {}).get("ratio")
            us_read = per_request_us(read, "palisade")
            us_bare = per_request_us(bare, "bare")
            text = f"- **{title}, read** ({fmt(ratio)}× bare). "
            if us_read and us_bare:
                text += (
                    f"Palisade spends {us_read:,.0f} µs of CPU per read against the bare handler's "
                    f"{us_bare:,.0f} µs ({us_read / us_bare:.0f}×), on the same TLS and HTTP stack: "
                )
            text += (
                "each read checks the identity-change number (one primary-key read) and takes the session, "
                "account and teams from the node's session cache, loads the ticket with its wrapped data key, "
                "tags and collaborators (one query), opens the subject and evaluates Cedar over the "
                "policies of `ticket.read` alone; the rest is sqlx's hand-off to its connection thread, "
                "allocation, and the HTTP and TLS work the bare handler does too. "
            )
            if b == "postgres":
                pg = med_cpu(read, "postgres")
                if pg is not None:
                    text += f"PostgreSQL's backends used another {pg:.0f}% of a core. "
            text += f"wrk runs on the same {machine.get('nproc', '?')} cores; compare ratios, not absolute numbers."
            add(text)
        if create:
            rps = med(create, "rps")
            us_create = per_request_us(create, "palisade")
            idle = med_cpu(create, "idle")
            iowait = med_cpu(create, "iowait")
            terms = env.get("terms_per_ticket", "?")
            text = f"- **{title}, create** ({fmt(rps, 0)} req/s). "
            pending = env.get("pending_texts", "?")
            merge = (
                "A text's keyed search terms go into one pending row; `serve` merges pending rows into the "
                "term index in batches of up to 1,000 texts every second (the merge's work is inside "
                f"these numbers; {pending} texts were still pending when the run ended, {terms} index rows "
                "per ticket). "
            )
            if b == "sqlite":
                text += (
                    "Creates are serialised on SQLite's single writer connection; each transaction runs "
                    "about 12 statements before its commit "
                    f"(synchronous={machine.get('sqlite_sync', '?')}, WAL: one fsync per commit). " + merge
                )
            else:
                text += (
                    "A create takes its ticket number from a sequence and writes its rows beside other "
                    "creates; only the audit head (`FOR UPDATE`) and the event counter, taken last, are "
                    "held until commit. " + merge
                )
            if rps:
                text += f"At {rps:,.0f} commits/s a transaction holds the write path for {1000 / rps:.1f} ms"
                if sync_rate:
                    text += (
                        f", of which one fsync is {1000 / sync_rate:.2f} ms "
                        f"({100 * rps / sync_rate:.0f}% of the time)"
                    )
                text += ". "
            if us_create is not None:
                text += f"Palisade used {us_create:,.0f} µs of CPU per create"
                if idle is not None:
                    text += f" and the machine was {idle:.0f}% idle"
                    if iowait is not None:
                        text += f" ({iowait:.0f}% iowait)"
                text += ". "
            if sync_rate and rps:
                verdict = (
                    "the commit itself is not the bottleneck: the statements inside the serialised transaction are"
                    if rps / sync_rate < 0.5
                    else "the commit's fsync is a large part of the serialised time"
                )
                text += f"So {verdict}."
            add(text)
    add("")

    # --- profiles ---
    profiles = []
    for b in backends:
        for s_name in ("read", "create"):
            sym = perf_focus(out / b / f"{s_name}.perf-incl.txt", 22) or perf_top(out / b / f"{s_name}.perf.txt", 14)
            dso = perf_top(out / b / f"{s_name}.perf-dso.txt", 6)
            if sym:
                profiles.append((b, s_name, dso, sym))
    if profiles:
        add("## Profiles")
        add("")
        add("`perf record -F 99 --call-graph dwarf` of the Palisade process during one extra, unmeasured")
        add("run per scenario: the share of the server's CPU samples by library, then the inclusive share")
        add("of selected frames (a frame's own time plus what it calls). SQLite runs inside the server")
        add("process but on sqlx's worker threads, so `sqlite3_step` is not counted under the request's")
        add("frames; PostgreSQL's own work is not sampled at all. Full reports are in `bench/last-run/`.")
        add("")
        for b, s_name, dso, sym in profiles:
            title = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[b]
            add(f"<details><summary>{title}, {s_name}</summary>")
            add("")
            add("```")
            lines.extend(dso)
            add("")
            lines.extend(sym)
            add("```")
            add("")
            add("</details>")
            add("")

    # --- history ---
    stamp = machine.get("date", "?")
    parts = []
    for b in backends:
        bits = []
        for s in ("read", "create"):
            v = summary.get((b, s))
            if v:
                flag = " INVALID" if v["invalid"] else ""
                if s == "read":
                    bits.append(f"read {fmt(v['rps'], 0)} req/s ({fmt(v['ratio'])}× bare){flag}")
                else:
                    bits.append(f"create {fmt(v['rps'], 0)} req/s{flag}")
        parts.append(f"{b}: " + ", ".join(bits))
    entry = (
        f"- {stamp} `{machine.get('git', '?')}` N={int(machine.get('n', '0')):,}, "
        f"{machine.get('duration', '?')} s × {machine.get('rounds', '?')}, c={machine.get('connections', '?')}: "
        + "; ".join(parts)
    )
    history = [entry]
    results = Path(results_path)
    if results.exists():
        old = results.read_text().split("\n## History\n", 1)
        if len(old) == 2:
            # A regenerated report (same run) replaces its own entry. The history ends
            # where the kept sections of the other benchmarks begin.
            own = old[1].split("\n<!-- ", 1)[0]
            history += [
                line for line in own.splitlines() if line.startswith("- ") and not line.startswith(f"- {stamp} ")
            ]
    add("## History")
    add("")
    lines.extend(history[:HISTORY_KEEP])
    add("")
    # The SMTP section belongs to bench/smtp.sh; a new HTTP report keeps it.
    previous = results.read_text() if results.exists() else ""
    # the sections of bench/smtp.sh, help.sh, scale.sh and flood.sh, and the hand-written notes on what
    # changed between runs and what comes next.
    for kept in ("notes", "smtp", "help", "help-postgres", "scale", "flood"):
        found = re.search(rf"<!-- {kept}:begin -->.*?<!-- {kept}:end -->", previous, re.S)
        if found:
            lines += ["", found.group(0), ""]
    results.write_text("\n".join(lines))


def main(argv):
    if len(argv) == 4 and argv[1] == "snapshot":
        snapshot(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "report":
        report(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
