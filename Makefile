# Every target bootstraps itself: .venv (the development environment, an editable
# install with the test and dev extras) is created on first use. `make test` runs the
# suite against the built wheel, installed into a fresh .venv-test (scripts/test.sh).
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
	rm -rf .venv .venv-test .venv-core dist .mypy_cache .pytest_cache .ruff_cache build \
		src/*.egg-info
