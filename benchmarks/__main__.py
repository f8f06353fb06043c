"""``python -m benchmarks`` (``make bench``): every benchmark, results in benchmarks/results/.

The micro-benchmarks run first, so that the peers report can judge the CPU goal by them;
the fault soak (``faults``) and the CLI start-up figures (``startup``) come before the
peers.
"""

from . import cache, client, faults, memory, peers, startup

cpu = client.main([])
cache.main()
memory.main()
faults.main()
startup.main([])
peers.main(
    micro={
        "cpu_ms_per_request": {
            step: row["aios3fm"]["cpu_ms_per_request"] for step, row in cpu.items()
        }
    }
)
