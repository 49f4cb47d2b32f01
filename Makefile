# The README's commands. Each target does its own set-up (the venv) and calls scripts/.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: help venv lint test test-fast demo demo-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

venv: ## create .venv from requirements.txt (once; again when requirements.txt changes)
	@scripts/venv.sh

lint: venv ## yamllint, ruff, ansible-lint (production profile, offline), ansible-test sanity
	@scripts/lint.sh

test: venv ## lint, pytest against its own moto servers and the molecule scenarios, side by side
	@scripts/test.sh

test-fast: venv ## lint beside the tests that boot no host and converge no whole stack (< 5 min)
	@scripts/test.sh --fast

demo: venv ## start the local AWS emulator and run site.yml -i inventories/local, then print a summary
	@scripts/demo.sh

demo-down: ## stop what make demo left running
	@scripts/demo_down.sh

.PHONY: diagram
diagram: venv ## draw docs/architecture-<env>.png for every inventory from its settings (graphviz)
	@$(VENV)/python scripts/diagram.py

.PHONY: ee
ee: venv ## write the AWX execution environment's build context to .cache/ee (ansible-builder)
	@scripts/ee.sh

.PHONY: publish
publish: venv ## publish a static build (BUILD=dist dir; only ENV=local, the default, has the example build) to S3 + CloudFront
	@$(VENV)/ansible-playbook playbooks/publish_static.yml -i inventories/$(or $(ENV),local) $(if $(BUILD),-e static_build_dir=$(abspath $(BUILD)))

.PHONY: bench-publish
bench-publish: venv ## time publish_static.yml beside aws s3 sync against moto; rewrites docs/benchmarks.md
	@$(VENV)/python bench/bench_publish.py

.PHONY: prowler
prowler: venv ## Prowler's hardening checks (WAF, logs, flow logs, trail, RDS TLS) against ENV (default local: the demo's emulator)
	@scripts/prowler.sh $(or $(ENV),local)

.PHONY: cost
cost: venv ## monthly estimate of ENV (default local) vs the seed's budget, offline; WARN_ONLY=1 to only warn
	@scripts/cost.sh $(or $(ENV),local) $(if $(WARN_ONLY),-e cost_warn_only=true)

.PHONY: drift
drift: venv ## read-only drift check of ENV (default local): report in reports/, exit 0 none, 2 drift, 1 failed
	@scripts/drift.sh $(or $(ENV),local)

.PHONY: bench
bench: venv ## no-op provision.yml at +0/50/100 ms per AWS request, --check, drift and stock Ansible, through bench/latency_proxy.py (BENCH_ARGS=--runs N)
	@$(VENV)/python bench/bench_provision.py $(BENCH_ARGS)

.PHONY: teardown
teardown: venv ## remove ENV's platform (ENV and CONFIRM=<the same name> required; ARGS=--check for the plan)
	@test -n "$(ENV)" || { echo "teardown: give ENV=<env> and CONFIRM=<env>" >&2; exit 2; }
	@$(VENV)/ansible-playbook playbooks/teardown.yml -i inventories/$(ENV) -e teardown_confirm=$(CONFIRM) $(ARGS)

.PHONY: molecule
molecule: venv ## the host roles' molecule scenarios on booted systemd-nspawn hosts (S="base python" for some)
	@scripts/molecule.sh $(S)
