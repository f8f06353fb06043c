"""``python -m benchmarks`` (``make bench``): every benchmark, results in benchmarks/results/."""

from . import cache, client, memory

client.main()
cache.main()
memory.main()
