"""``python -m benchmarks`` (``make bench``): every benchmark, results in benchmarks/results/."""

from . import cache, client

client.main()
cache.main()
