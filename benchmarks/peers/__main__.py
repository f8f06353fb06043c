"""``python -m benchmarks.peers [--runs N] [--scale F]``: the peers benchmark alone."""

from __future__ import annotations

import argparse
import json

from ..results import RESULTS
from . import main
from .run import scaled

parser = argparse.ArgumentParser(description="aios3fm against its peers")
parser.add_argument("--runs", type=int, default=3)
parser.add_argument("--scale", type=float, default=1.0)
options = parser.parse_args()
scaled(options.scale)
client = RESULTS / "client.json"  # the CPU goal is judged by the client benchmark
table = json.loads(client.read_text()) if client.exists() else {}
cpu = {step: row["aios3fm"]["cpu_ms_per_request"] for step, row in table.items()}
main(options.runs, micro={"cpu_ms_per_request": cpu})
