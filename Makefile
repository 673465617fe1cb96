# Shortcuts for tasks.py, which needs nothing but python3: `python3 tasks.py demo|test|bench|clean`.
PYTHON ?= python3

.PHONY: demo test bench clean help

help:
	@$(PYTHON) tasks.py

demo:
	$(PYTHON) tasks.py demo

test:
	$(PYTHON) tasks.py test

bench:
	$(PYTHON) tasks.py bench

clean:
	$(PYTHON) tasks.py clean
