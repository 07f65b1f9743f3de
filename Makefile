# The two commands of the README's quick start; each does all set-up by itself.
.PHONY: demo test lint

demo:  ## run predwatch end to end (starts a local Elasticsearch if none is configured)
	bash .ci/demo

test:  ## ruff + mypy --strict + pytest (unit + integration against a real Elasticsearch)
	bash .ci/test
