"""``python -m benchmarks`` (``make bench``): every benchmark, results in benchmarks/results/.

The micro-benchmarks run first, so that the peers report can judge the CPU goal by them.
"""

from . import cache, client, memory, peers

cpu = client.main([])
cache.main()
memory.main()
peers.main(
    micro={
        "cpu_ms_per_request": {
            step: row["aios3fm"]["cpu_ms_per_request"] for step, row in cpu.items()
        }
    }
)
