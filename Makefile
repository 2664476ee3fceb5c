# booster — set-up and everyday targets. `make demo` and `make test` need nothing installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BOOSTER := $(VENV)/bin/booster
TOOLS := .tools
ANVIL_VERSION := 1.7.1
SOLC_VERSION := 0.8.37
OZ_VERSION := 5.7.0
CAST_VERSION := 1.7.1
UNISWAP_V2_CORE_VERSION := 1.0.1
SOLC05_VERSION := 0.5.16
ETHERS_VERSION := 6.17.0
VIEM_VERSION := 2.58.8
PY_STAMP := $(VENV)/.installed
TOOLS_STAMP := $(TOOLS)/.installed-$(ANVIL_VERSION)-$(SOLC_VERSION)-$(OZ_VERSION)-$(CAST_VERSION)-$(UNISWAP_V2_CORE_VERSION)-$(SOLC05_VERSION)-$(ETHERS_VERSION)-$(VIEM_VERSION)
DEMO_DIR := .booster-demo

.PHONY: install test test-unit conformance demo demo-chain docs report-examples artifacts completions bench clean

install: $(PY_STAMP) $(TOOLS_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# anvil and solcjs come from npm into a git-ignored project-local folder; OpenZeppelin's
# contracts are the third-party corpus of the fidelity tests; cast, forge (cast's version),
# ethers and viem are the real clients the L2 is tested with; Uniswap V2 core (and solcjs 0.5.16,
# the compiler it was written for, as the alias solc05) is the real-world contract the L1CALL
# differential runs unmodified.
$(TOOLS_STAMP):
	mkdir -p $(TOOLS)
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error \
		@foundry-rs/anvil@$(ANVIL_VERSION) solc@$(SOLC_VERSION) @openzeppelin/contracts@$(OZ_VERSION) \
		@foundry-rs/cast@$(CAST_VERSION) @uniswap/v2-core@$(UNISWAP_V2_CORE_VERSION) solc05@npm:solc@$(SOLC05_VERSION) \
		@foundry-rs/forge@$(CAST_VERSION) ethers@$(ETHERS_VERSION) viem@$(VIEM_VERSION)
	touch $@

# two workers (pytest-xdist): the integration tests mostly wait for their processes
test: install
	$(PY) -m pytest -q -n 2

test-unit: install
	$(PY) -m pytest -q -m "not integration"

# Ethereum's official state tests (the full vendored set) through the L2 executor and the L1
# context, compared with plain py-evm; prints a per-category table. `make test` runs a subset.
conformance: install
	$(PY) -m tests.conformance.run

# Re-compile the shipped settlement contract artifact from its source.
artifacts: install
	$(PY) -m booster_cli.artifacts

# Shell completion scripts, generated from the CLI (a test fails when they drift).
completions: install
	$(PY) -m booster_cli.cli.completions completions

# Performance targets (issue 7): each script prints metric, booster, reference, ratio, target and
# exits non-zero when a target is missed. Run by hand; not part of `make test`.
bench: install
	cd benchmarks && ../$(PY) throughput.py; ../$(PY) settlement_gas.py; ../$(PY) client_and_prover.py; ../$(PY) scale.py

demo: install
	BOOSTER_STATE_DIR=$(DEMO_DIR) ./scripts/demo.sh

# Chained rollups: swaps on rollup a, more on rollup b from a's reserves, one settlement.
demo-chain: install
	BOOSTER_STATE_DIR=$(DEMO_DIR)-chain ./scripts/demo-chain.sh

# The README's quick start, run on a live devnet; its outputs are written into README.md (a test
# runs the same with --check and fails when they drifted).
docs: install
	$(PY) scripts/readme_examples.py

# The `booster report` worked examples of docs/report.md (Voting, ERC20), each on a fresh devnet.
report-examples: install
	BOOSTER_STATE_DIR=.booster-examples ./scripts/report-examples.sh

clean:
	rm -rf $(VENV) $(TOOLS) .booster $(DEMO_DIR) $(DEMO_DIR)-chain .booster-examples
