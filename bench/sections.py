"""What the section reports of bench/*.sh share (imported, not run): reading the
`key=value` files the scripts write, one wrk run's figures as the wrk/*.lua scripts
print them, and putting a section between its markers in bench/RESULTS.md.
"""

import re
import sys
from pathlib import Path


def env(path):
    """A `key=value` file as a dict ({} when it is missing)."""
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                out[key] = value
    return out


def whole_run(machine):
    """How long a run took, from its machine.env (a run resumed by hand has no total)."""
    seconds = machine.get("total_seconds")
    return f"{int(seconds) / 60:.1f} min" if seconds else "not recorded"


def wrk_run(path):
    """req/s, p50 and p99 in ms, unexpected statuses and socket errors of one run."""
    text = path.read_text()
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M).group(1))
    lat = re.search(r"BENCH_LATENCY_US p50=(\d+) p99=(\d+)", text)
    bad = int(re.search(r"BENCH_BAD_STATUS (\d+)", text).group(1))
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "rps": rps,
        "p50": int(lat.group(1)) / 1000,
        "p99": int(lat.group(2)) / 1000,
        "bad": bad,
        "errors": errors.group(1) if errors else "",
    }


def replace_section(results, begin, end, block):
    """Puts `block` (which starts with `begin` and ends with `end`) in place of the
    file's section between those markers, or at its end."""
    results = Path(results)
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    results.write_text(text)


def main(argv, doc, section):
    """`report.py OUT RESULTS`: `section(Path(OUT))` returns (begin, end, block)."""
    if len(argv) != 3:
        sys.stderr.write(doc)
        return 2
    begin, end, block = section(Path(argv[1]))
    replace_section(argv[2], begin, end, block)
    return 0
