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
# Nothing outside the checkout (make clean removes it all): pip's, stevedore's and molecule's
# caches and ansible's ~/.ansible (tmp, galaxy cache; the "remote" tmp of localhost plays, which
# ansible puts in the login user's passwd home, not $HOME) go under .cache/.
export XDG_CACHE_HOME := $(CURDIR)/.cache/xdg
export ANSIBLE_HOME := $(CURDIR)/.cache/ansible
export ANSIBLE_REMOTE_TEMP := $(CURDIR)/.cache/ansible/tmp-remote
export ANSIBLE_CONFIG := $(CURDIR)/tests/ansible.cfg
export PATH := $(BIN):$(PATH)

.PHONY: help venv collection cloud cloud-stop demo test unit sanity lint integration guard ee fresh-clone explain-e2e molecule benchmarks docs-check build clean

help:
	@echo "make demo   - set up everything, start minicloud, run the main playbook against it"
	@echo "make test   - run every test (unit, oracle, sanity, integration on minicloud, molecule)"
	@echo "make cloud / make cloud-stop - start / stop minicloud (TOPOLOGY=..., prints clouds.yaml)"
	@echo "make unit | sanity | integration | explain-e2e | molecule | docs-check | guard | benchmarks - parts of make test"

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
	@bash tests/bin/01-unit.sh

sanity: venv
	@bash tests/bin/05-sanity.sh

lint: venv
	@bash tests/bin/06-lint.sh

# The stages that run on minicloud.
integration: venv collection
	@for s in 10-minicloud 12-services 30-facts 40-explain-e2e 50-history; do \
	  echo "=== $$s ==="; bash tests/bin/$$s.sh || exit 1; done

# make demo on a machine without OpenStack's host directories (private mount namespace).
guard: venv collection
	@bash tests/bin/08-guard.sh

# make venv + make demo from a clone of HEAD in a clean Debian 12 container (docs/development.md).
fresh-clone: venv
	@bash tests/bin/fresh-clone-check.sh

# Build the AWX/AAP execution environment and run the fleet report inside it (docs/awx.md).
ee: venv collection
	@bash tests/bin/ee-check.sh

molecule: venv collection
	@bash tests/bin/60-molecule.sh

# Both explain end-to-end stages: predictions against what Nova does on minicloud.
explain-e2e: venv collection
	@for s in 40-explain-e2e 41-explain-e2e2; do \
	  echo "=== $$s ==="; bash tests/bin/$$s.sh || exit 1; done

# The documentation checks: every plugin renders with ansible-doc, its DOCUMENTATION/EXAMPLES/RETURN
# is strict YAML, docs/snapshot.md's field table is the snapshot schema.
docs-check: venv collection
	@bash tests/bin/docs-check.sh

benchmarks: venv collection
	@bash benchmarks/run.sh

build: venv
	mkdir -p .build/dist && $(BIN)/ansible-galaxy collection build --force --output-path .build/dist .

clean:
	-$(BIN)/python tests/minicloud/minicloudctl stop-all --state-root $(CURDIR)/.cache 2>/dev/null
	@# the container images the molecule stage, `make ee` and `make fresh-clone` built (podman's
	@# store is outside the checkout)
	-@unset CONTAINERS_CONF; command -v podman >/dev/null && { podman images --format '{{.Repository}}:{{.Tag}}' \
	  | grep -E '^localhost/stackops-nova-'; podman images -q --filter label=stackops.nova.image=ee-build; } \
	  | xargs -r podman rmi -f >/dev/null 2>&1; true
	rm -rf .build .cache
