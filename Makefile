# Every target bootstraps itself: .venv (the development environment, an editable
# install with the test and dev extras) is created on first use. `make test` runs the
# suite against the built wheel, installed into a fresh .venv-test (scripts/test.sh).
.PHONY: install demo test test-matrix lint pytest bench clean

install:
	./scripts/install.sh test,dev

demo: install
	.venv/bin/python -m aios3fm demo

lint: install
	./scripts/lint.sh

pytest: install
	./scripts/test.sh

test: lint pytest

# the other Python versions the package claims (3.10, 3.12, 3.13): a fast subset each
test-matrix: install
	./scripts/test_matrix.sh

# the aioboto3 peer pins its own aiobotocore: it runs from .venv-aioboto3
bench: install
	./scripts/install.sh test,dev,bench
	./scripts/install_peer_venv.sh
	.venv/bin/python -m benchmarks

clean:
	rm -rf .venv .venv-test .venv-core .venv-aioboto3 .venv-py3* dist dist-matrix .mypy_cache \
		.pytest_cache .ruff_cache build src/*.egg-info
