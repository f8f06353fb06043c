# Every target bootstraps itself: .venv is created and the package installed on first use.
.PHONY: install demo test lint pytest bench clean

install:
	./scripts/install.sh test,dev

demo: install
	.venv/bin/python -m aios3fm demo

lint: install
	./scripts/lint.sh

pytest: install
	./scripts/test.sh

test: lint pytest

bench: install
	./scripts/install.sh test,dev,bench
	.venv/bin/python -m benchmarks

clean:
	rm -rf .venv .mypy_cache .pytest_cache .ruff_cache build *.egg-info
