"""Number lists in `ringfence serve`: a changed list file is swapped in without reloading the
policies (on its own, or on SIGHUP); a list that fails to load never replaces the running one;
/health reports each list's count and content hash. Over loopback HTTP."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import httpx

POLICY = """policy listed "Lists in the service"
  version 1
  applies to any
  uses list dnc

rule dnc "Do not call listed numbers"
  cite "test rule 1"
  message "Listed."
  deny if callee on list dnc
"""
LISTED, OTHER = "+12125550101", "+12125550102"


def decided(url: str, number: str) -> str:
    call = {"to": number, "at": "2026-06-15T18:00:00Z", "purpose": "informational"}
    return httpx.post(url + "/v1/decide", json=call).json()["result"]["decision"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_for(url: str, check) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        health = httpx.get(url + "/health").json()
        if check(health):
            return health
        time.sleep(0.05)
    raise AssertionError(f"not seen: {httpx.get(url + '/health').json()}")


def write(path: Path, text: str, stamp: int) -> None:
    # a distinct modification time, so that the change is seen however coarse the clock is
    path.write_text(text)
    os.utime(path, ns=(stamp, stamp))


def serve(tmp_path_factory, start_server, *extra: str):
    folder = tmp_path_factory.mktemp("lists")
    (folder / "listed.rf").write_text(POLICY)
    table = folder / "dnc.txt"
    write(table, f"{LISTED}\n", 1_000_000_000_000_000_000)
    server = start_server("-p", str(folder / "listed.rf"), "--list", f"dnc={table}",
                          "--insecure-local", *extra, cwd=folder)
    return server, table


def test_a_changed_list_is_swapped_in_and_a_broken_one_never_replaces_it(
        tmp_path_factory, start_server) -> None:
    server, table = serve(tmp_path_factory, start_server, "--list-check-seconds", "0.1")
    health = httpx.get(server.url + "/health").json()
    assert health["lists"]["dnc"]["count"] == 1
    assert health["lists"]["dnc"]["sha256"] == sha256(table)
    loaded_at = health["loaded_at"]
    assert (decided(server.url, LISTED), decided(server.url, OTHER)) == ("deny", "allow")

    write(table, f"{OTHER}\n+12125550103\n", 1_000_000_000_000_000_001)
    health = wait_for(server.url, lambda h: h["lists"]["dnc"]["sha256"] == sha256(table))
    assert health["lists"]["dnc"]["count"] == 2
    assert health["loaded_at"] == loaded_at  # the policies were not loaded again
    assert (decided(server.url, LISTED), decided(server.url, OTHER)) == ("allow", "deny")

    good = sha256(table)
    write(table, f"{LISTED}\nnot a number\n", 1_000_000_000_000_000_002)
    health = wait_for(server.url, lambda h: h["lists"]["dnc"]["last_reload_error"])
    assert "dnc.txt:2: expected an E.164 number" in health["lists"]["dnc"]["last_reload_error"]
    assert health["lists"]["dnc"]["sha256"] == good and health["lists"]["dnc"]["count"] == 2
    assert (decided(server.url, LISTED), decided(server.url, OTHER)) == ("allow", "deny")

    table.unlink()
    health = wait_for(server.url, lambda h: "cannot read" in (
        h["lists"]["dnc"]["last_reload_error"] or ""))
    assert decided(server.url, OTHER) == "deny"

    write(table, f"{LISTED}\n", 1_000_000_000_000_000_003)
    health = wait_for(server.url, lambda h: h["lists"]["dnc"]["last_reload_error"] is None)
    assert health["lists"]["dnc"]["count"] == 1
    assert (decided(server.url, LISTED), decided(server.url, OTHER)) == ("deny", "allow")


def test_sighup_reloads_a_changed_list_when_files_are_not_watched(
        tmp_path_factory, start_server) -> None:
    server, table = serve(tmp_path_factory, start_server, "--list-check-seconds", "0")
    write(table, f"{OTHER}\n", 1_000_000_000_000_000_001)
    time.sleep(0.5)
    assert decided(server.url, OTHER) == "allow"  # not watched: nothing changes by itself
    server.process.send_signal(signal.SIGHUP)
    health = wait_for(server.url, lambda h: h["lists"]["dnc"]["sha256"] == sha256(table))
    assert health["lists"]["dnc"]["count"] == 1
    assert (decided(server.url, LISTED), decided(server.url, OTHER)) == ("allow", "deny")
