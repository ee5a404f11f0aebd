# The commands of the project; README.md explains each.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
LOCKS  := requirements.lock requirements-dev.lock
STAMP  := $(VENV)/.installed-$(shell cat $(LOCKS) | cksum | cut -d' ' -f1)

.PHONY: chaos chaos-smoke venv keys run stop status demo test test-unit bench token admin queues dead-letters replay discard trace catalog contracts-snapshot migration infra verify-certificate verify-export load-bank

# The runtime lock (what the image installs) and the test/development lock, each pinning
# every transitive package: installed without resolving, then checked to be complete.
$(STAMP): $(LOCKS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements.lock -r requirements-dev.lock
	@$(BIN)/pip check -q --disable-pip-version-check >/dev/null || { $(BIN)/pip check; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

keys: venv
	@$(PY) -m shared.tokens keys
	@$(PY) -m services.certificate.signing keys
	@$(PY) -m shared.dev.paystand keys

run: venv keys            ## start the services and the gateway [POSTGRES=1: on PostgreSQL]
	@CEA_POSTGRES=$(POSTGRES) $(PY) -m shared.ops start

stop: venv
	@$(PY) -m shared.ops stop

status: venv              ## each process: supervisor state, pid, and whether it answers
	@$(PY) -m shared.ops status

demo: venv                ## one learner end to end through the running services
	@$(PY) -m shared.ops demo

infra:
	@deploy/local/ensure-infra.sh

test: venv infra          ## ruff, then unit, actions (no broker), integration, reliability, end-to-end and API contract tests
	$(BIN)/ruff check .
	$(PY) -m pytest tests/unit tests/actions tests/integration tests/reliability tests/e2e tests/contract

test-unit: venv
	$(PY) -m pytest tests/unit tests/actions

chaos: venv infra        ## faults under load, invariants checked: make chaos [CHAOS_LEARNERS=200] [CHAOS_ONLY=1,2]
	$(PY) -m tests.chaos --learners $(or $(CHAOS_LEARNERS),200) $(if $(CHAOS_ONLY),--only $(CHAOS_ONLY))

chaos-smoke: venv infra  ## the CI part of make chaos: scenarios 1, 2, 3a, 3b, 5a, 5b with 30 learners
	$(PY) -m tests.chaos --smoke --learners $(or $(CHAOS_LEARNERS),30)

bench: venv infra         ## one table: figures, targets, PASS/MISS; var/bench.json (BENCH_ARGS=--postgres: both databases)
	$(PY) -m tests.bench $(BENCH_ARGS)

token: venv keys          ## make token ROLE=admin [BASE=B001] [SUB=<learner id>]
	@$(PY) -m shared.tokens mint --role $(ROLE) $(if $(BASE),--base $(BASE)) $(if $(SUB),--sub $(SUB))

admin: venv               ## make admin LOGIN=wang.admin NAME=王管理 [EMAIL=...]: the first administrator
	@$(PY) -m services.identity.admin --login "$(LOGIN)" --name "$(NAME)" $(if $(EMAIL),--email "$(EMAIL)")

queues: venv              ## [JSON=1]
	@$(PY) -m shared.ops queues $(if $(JSON),--json)

dead-letters: venv        ## make dead-letters SERVICE=billing [ID=<event id prefix>] [JSON=1]
	@$(PY) -m shared.ops dead-letters $(if $(ID),show,list) $(SERVICE) $(ID) $(if $(JSON),--json)

replay: venv              ## make replay SERVICE=billing ID=<event id>|ALL=1
	@$(PY) -m shared.ops dead-letters replay $(SERVICE) $(if $(ALL),--all,$(ID))

discard: venv             ## make discard SERVICE=billing ID=<event id>
	@$(PY) -m shared.ops dead-letters discard $(SERVICE) $(ID)

trace: venv               ## make trace ID=<enrollment id> [VIA=<gateway URL>] [JSON=1]
	@$(PY) -m shared.ops trace $(ID) $(if $(VIA),--via $(VIA)) $(if $(JSON),--json)

verify-certificate: venv  ## make verify-certificate FILE=cert.json KEYS=keys.json (offline signature check)
	@$(PY) -m services.certificate.verify_file $(FILE) --keys $(KEYS)

verify-export: venv       ## make verify-export FILE=talent-registry.zip KEYS=keys.json (a receiver's check)
	@$(PY) -m services.certificate.verify_export $(FILE) --keys $(KEYS)

catalog: contracts-snapshot ## regenerate the event catalog, docs/events.md, from the contracts (a breaking change stops it)
	@$(PY) -m shared.contracts.event_catalog > docs/events.md

contracts-snapshot: venv  ## record new contract versions in shared/contracts/snapshots/; refuse breaking changes
	@$(PY) -m shared.contracts.snapshot


load-bank: venv           ## make load-bank FILE=/secure/bank.yaml (into EXAM_DATABASE_URL; docs/question-bank.md)
	@$(PY) -m services.exam.load_bank $(FILE)

migration: venv           ## make migration SERVICE=billing MSG="add invoices"
	@$(PY) -m shared.persistence.migrations revision $(SERVICE) "$(MSG)"
