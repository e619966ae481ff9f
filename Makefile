# stackops.nova — the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# Where ansible finds this collection: a link named like the collection (root = collection).
COLLECTIONS := $(CURDIR)/.build/collections
# minicloud: one throwaway state directory per topology.
TOPOLOGY ?= tests/minicloud/topologies/demo.yml
CLOUD_STATE ?= $(CURDIR)/.cache/minicloud/$(basename $(notdir $(TOPOLOGY)))

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/tests/ansible.cfg
export PATH := $(BIN):$(PATH)

.PHONY: help venv collection cloud cloud-stop demo test unit sanity integration explain-e2e molecule benchmarks docs-check build clean

help:
	@echo "make demo   - set up everything, start minicloud, run the main playbook against it"
	@echo "make test   - run every test (unit, oracle, sanity, integration on minicloud, molecule)"
	@echo "make cloud / make cloud-stop - start / stop minicloud (TOPOLOGY=..., prints clouds.yaml)"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements/constraints.txt $(wildcard requirements/*.in)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements/constraints.txt pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements/constraints.txt $(foreach f,$(wildcard requirements/*.in),-r $(f))
	touch $@

collection: $(COLLECTIONS)/ansible_collections/stackops/nova
$(COLLECTIONS)/ansible_collections/stackops/nova:
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

cloud: venv
	@$(BIN)/python tests/minicloud/minicloudctl start --topology $(TOPOLOGY) --state-dir $(CLOUD_STATE)

cloud-stop: venv
	@$(BIN)/python tests/minicloud/minicloudctl stop --state-dir $(CLOUD_STATE)

demo: venv collection
	@bash tests/bin/demo.sh

test: venv collection
	@bash tests/bin/run-all.sh

unit: venv collection
	@bash tests/bin/unit.sh

sanity: venv
	@bash tests/bin/sanity.sh

integration: venv collection
	@bash tests/bin/integration.sh

molecule: venv collection
	@bash tests/bin/60-molecule.sh

benchmarks: venv collection
	@bash benchmarks/run.sh

build: venv
	mkdir -p .build/dist && $(BIN)/ansible-galaxy collection build --force --output-path .build/dist .

clean:
	-$(BIN)/python tests/minicloud/minicloudctl stop-all --state-root $(CURDIR)/.cache 2>/dev/null
	rm -rf .build .cache
