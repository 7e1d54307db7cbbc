"""The questions `importer run` asks on a terminal: the hidden key prompt and y/N.
Driven through a pseudo-terminal (pexpect), as a person at a keyboard would answer."""

import os
import sys

import pexpect
import pytest

from importer.sandbox import Sandbox

from .test_cli_run import catalogue, write_csv

KEY = "typed-key-0c41d9"


@pytest.fixture
def sandbox():
    with Sandbox(rate_limit=50, rate_window=2, api_key=KEY) as running:
        yield running


def start(sandbox, source):
    env = {k: v for k, v in os.environ.items() if k != "TI_API_KEY"}
    return pexpect.spawn(sys.executable, ["-m", "importer", "run", str(source), "--base-url", sandbox.base_url,
                                          "--rate-limit", "1500"],
                         env=env, encoding="utf-8", timeout=60, dimensions=(40, 120))


def test_the_key_is_asked_for_hidden_and_yes_creates(tmp_path, sandbox):
    source = write_csv(tmp_path / "courses.csv", catalogue(3))
    child = start(sandbox, source)
    child.expect_exact(f"API key for {sandbox.base_url} (input hidden): ")
    child.sendline(KEY)
    child.expect_exact(f"Create 3 courses on {sandbox.base_url}? [y/N] ")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert KEY not in child.before  # not echoed, not printed
    assert sandbox.stats()["courses"] == 3


@pytest.mark.parametrize("answer", ["n", "", "nope"])
def test_anything_but_yes_sends_nothing(tmp_path, sandbox, answer):
    source = write_csv(tmp_path / "courses.csv", catalogue(2))
    child = start(sandbox, source)
    child.expect_exact("(input hidden): ")
    child.sendline(KEY)
    child.expect_exact("[y/N] ")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    # Saying no is not an error: one plain line, exit 1.
    assert child.exitstatus == 1 and "Not confirmed: nothing was sent." in child.before
    assert "Error" not in child.before
    assert sandbox.stats()["byMethod"].get("POST", 0) == 0


@pytest.mark.parametrize("typed, said", [("", "no API key"), ("not-the-key", "check the key you typed")])
def test_a_key_typed_at_the_prompt_that_cannot_be_used(tmp_path, sandbox, typed, said):
    source = write_csv(tmp_path / "courses.csv", catalogue(1))
    child = start(sandbox, source)
    child.expect_exact("(input hidden): ")
    child.sendline(typed)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2 and said in child.before
    if typed:  # a key that was typed is named as typed, not as the variable
        assert "TI_API_KEY" not in child.before
    assert "not-the-key" not in child.before
    assert sandbox.stats()["byMethod"].get("POST", 0) == 0
