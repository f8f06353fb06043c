"""Reporting the peers benchmark: medians per tool and step, the markdown tables, the
goals with their verdicts, the chart, and the tables in the README between its markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..results import RESULTS, save
from .run import LATENCY, LATENCY_STEPS, STEPS, WORKLOADS, Tool

README = Path(__file__).parent.parent.parent / "README.md"

OURS = ("aios3fm", "aios3fm CLI")


def summarize(tools: list[Tool]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for tool in tools:
        for key, samples in tool.samples.items():
            ordered = sorted(samples, key=lambda s: s.wall)
            middle = ordered[len(ordered) // 2]
            rows.setdefault(key, {})[tool.name] = {
                "wall_s": middle.wall,
                "cpu_s": sorted(s.cpu for s in samples)[len(samples) // 2],
                # the share of the step the server's core was busy: near 1.0, the server
                # (not the tool) set the pace
                "server_busy": middle.server_cpu / middle.wall if middle.wall else 0.0,
                "requests": dict(sorted(middle.requests.items())),
                "total_requests": sum(middle.requests.values()),
                "runs": len(samples),
            }
    for row in rows.values():
        peers = {name: r for name, r in row.items() if name not in OURS}
        best = min(peers, key=lambda name: peers[name]["wall_s"])
        fewest = min(r["total_requests"] for r in peers.values())
        row["_best_peer"] = best
        row["_fewest_peer_requests"] = fewest
        for ours in OURS:
            if ours in row:
                row[ours]["ratio_to_best_peer"] = row[ours]["wall_s"] / peers[best]["wall_s"]
    return rows


def markdown(rows: dict[str, Any], tools: list[Tool], header: list[str]) -> str:
    names = [t.name for t in tools]
    lines = [*header, ""]
    for workload in WORKLOADS:
        lines += [
            f"### {workload}: median wall seconds (requests)",
            "",
            "| step | " + " | ".join(names) + " | best peer | aios3fm / best | CLI / best |",
            "|---" * (len(names) + 4) + "|",
        ]
        for step in (*STEPS, *LATENCY_STEPS):
            row = rows.get(f"{workload} | {step}")
            if row is None:
                continue
            cells = [
                f"{row[n]['wall_s']:.2f} ({row[n]['total_requests']})" if n in row else "-"
                for n in names
            ]
            ours, cli = row.get("aios3fm", {}), row.get("aios3fm CLI", {})
            lines.append(
                f"| {step} | " + " | ".join(cells) + f" | {row['_best_peer']} |"
                f" **{ours.get('ratio_to_best_peer', float('nan')):.2f}** |"
                f" {cli.get('ratio_to_best_peer', float('nan')):.2f} |"
            )
        lines.append("")
    lines += ["### Client CPU seconds (median) and requests by operation", ""]
    lines += [
        "| workload / step | tool | wall s | client CPU s | server busy | requests |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in rows.items():
        for name in names:
            if name in row:
                r = row[name]
                ops = ", ".join(f"{op} {n}" for op, n in r["requests"].items())
                lines.append(
                    f"| {key} | {name} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} |"
                    f" {r['server_busy']:.0%} | {ops} |"
                )
    return "\n".join(lines) + "\n"


def goals(rows: dict[str, Any], micro: dict[str, Any]) -> list[str]:
    """The goals of the benchmark issue, each with its measured figure and a verdict."""
    out = ["### Goals", "", "| goal | measured | met |", "|---|---|---|"]
    for key, row in rows.items():
        if "aios3fm" not in row:
            continue
        ours = row["aios3fm"]
        fewest = row["_fewest_peer_requests"]
        out.append(
            f"| fewest requests: {key} | aios3fm {ours['total_requests']}, fewest peer {fewest}"
            f" | {'yes' if ours['total_requests'] <= fewest else 'no'} |"
        )
    for key, row in rows.items():
        if "aios3fm" in row:
            ratio = row["aios3fm"]["ratio_to_best_peer"]
            out.append(
                f"| wall <= 0.9 x best peer: {key} | {ratio:.2f} ({row['_best_peer']}) |"
                f" {'yes' if ratio <= 0.9 else 'no'} |"
            )
    for name, value in micro.get("cpu_ms_per_request", {}).items():
        out.append(f"| client CPU <= 1.0 ms per request: {name} | {value:.2f} ms |"
                   f" {'yes' if value <= 1.0 else 'no'} |")  # fmt: skip
    for workload, (count, _) in WORKLOADS.items():
        row = rows.get(f"{workload} | copy @20ms", {})
        if "aios3fm" in row:
            bound = 1.3 * count * LATENCY / 64
            wall = row["aios3fm"]["wall_s"]
            out.append(
                f"| copy @20ms within 1.3 x N x latency / 64 = {bound:.2f} s: {workload} |"
                f" {wall:.2f} s | {'yes' if wall <= bound else 'no'} |"
            )
    return out


def chart(rows: dict[str, Any], tools: list[Tool], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [t.name for t in tools]
    steps = [*STEPS, *LATENCY_STEPS]
    figure, axes = plt.subplots(len(WORKLOADS), 1, figsize=(13, 4.2 * len(WORKLOADS)))
    width = 0.8 / len(names)
    for axis, workload in zip(axes, WORKLOADS, strict=True):
        for index, name in enumerate(names):
            values = [rows.get(f"{workload} | {s}", {}).get(name, {}).get("wall_s", 0)
                      for s in steps]  # fmt: skip
            positions = [i + (index - len(names) / 2 + 0.5) * width for i in range(len(steps))]
            axis.bar(positions, values, width, label=name,
                     edgecolor="black" if name == "aios3fm" else None)  # fmt: skip
        axis.set_yscale("log")
        axis.set_xticks(range(len(steps)), steps)
        axis.set_ylabel("wall seconds (log, lower is better)")
        axis.set_title(f"{workload}: median of interleaved runs, one server core")
        axis.grid(axis="y", alpha=0.3)
    axes[0].legend(ncol=4, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def update_readme(tables: str, pinning: str, runs: int) -> None:
    """Put the latest tables between the README's bench markers."""
    text = README.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        return
    block = (
        f"{start}\n_Latest `make bench`: median of {runs} interleaved runs, {pinning}; "
        "wall seconds (requests counted by the server). Details, client CPU and server "
        "load in `benchmarks/results/peers.md`; chart in `benchmarks/results/peers.png`._"
        f"\n\n{tables}\n{end}"
    )
    head, rest = text.split(start, 1)
    README.write_text(head + block + rest.split(end, 1)[1])


def write(
    rows: dict[str, Any], tools: list[Tool], skipped: list[str], micro: dict[str, Any],
    pinning: str, runs: int, versions: dict[str, str],
) -> str:  # fmt: skip
    """Write peers.md, peers.json and peers.png, update the README; return the markdown."""
    header = [
        "# aios3fm against its peers on one server",
        "",
        f"Median of {runs} interleaved runs; {pinning}. Server: `python -m aios3fm server`"
        " (moto) on 127.0.0.1. Requests are counted by the server. A ratio below 1.0 means"
        " aios3fm is faster than the fastest peer on that step.",
        "",
        *(f"- {t.name}: {t.note}" for t in tools if t.note),
        *(f"- {note}" for note in skipped),
        f"- versions: {', '.join(f'{k} {v}' for k, v in versions.items())}",
    ]
    text = markdown(rows, tools, header) + "\n" + "\n".join(goals(rows, micro)) + "\n"
    figures = {"rows": rows, "micro": micro, "skipped": skipped, "pinning": pinning, "runs": runs}
    save("peers", text, figures)
    chart(rows, tools, RESULTS / "peers.png")
    update_readme(markdown(rows, tools, []).split("### Client CPU")[0].strip(), pinning, runs)
    return text
