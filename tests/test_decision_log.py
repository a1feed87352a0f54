"""The hash-chained decision log: tampering found, rotation followed, several writers, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from ringfence.service.log import DecisionLog, rotated_files, verify
from ringfence.tools.cli import cli


def write(path: Path, count: int, **options) -> DecisionLog:
    log = DecisionLog(path, **options)
    for n in range(count):
        log.append({"decision_id": f"d{n}", "input": {"n": n}})
    return log


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_an_intact_log_verifies_and_reports_its_head(tmp_path) -> None:
    log = write(tmp_path / "d.jsonl", 5)
    result = verify(tmp_path / "d.jsonl")
    assert (result.records, result.head, result.problem) == (5, log.head["hash"], None)
    assert log.head["seq"] == 5


def test_values_orjson_cannot_write_are_logged_and_verify(tmp_path) -> None:
    log = DecisionLog(tmp_path / "d.jsonl")
    log.append({"meta": {"big": 2**70, "text": "Zürich ☎", "float": 1e16}}, {"n": 1.5})
    assert verify(tmp_path / "d.jsonl").problem is None
    assert json.loads(lines(tmp_path / "d.jsonl")[0])["meta"]["big"] == 2**70


def test_an_edited_record_is_found(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    write(path, 5)
    text = lines(path)
    text[2] = text[2].replace('"n":2', '"n":7')
    path.write_text("".join(text))
    assert verify(path).problem == f"{path}:3: record 3 was edited (its hash does not match its contents)"


def test_a_deleted_or_reordered_record_is_found(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    write(path, 5)
    text = lines(path)
    path.write_text("".join(text[:1] + text[2:]))
    assert verify(path).problem.startswith(f"{path}:2: record 3 does not follow record 1")
    path.write_text("".join([text[1], text[0], *text[2:]]))
    assert "does not follow record 0" in verify(path).problem


def test_rotation_keeps_one_chain_across_files(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    write(path, 60, max_bytes=2000)
    parts = rotated_files(path)
    assert len(parts) >= 3
    assert all(p.stat().st_size < 2500 for p in parts)
    result = verify(path)
    assert result.problem is None and result.records == 60 + len(parts)
    parts[1].unlink()  # a whole rotated file deleted
    assert "does not follow" in verify(path).problem


def test_the_cli_exit_codes(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    write(path, 3)
    run = lambda: CliRunner().invoke(cli, ["log", "verify", str(path)])  # noqa: E731
    assert run().exit_code == 0
    path.write_text(path.read_text().replace('"n":1', '"n":9'))
    assert run().exit_code == 1 and "record 2 was edited" in run().output
    missing = CliRunner().invoke(cli, ["log", "verify", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2


WRITER = """
import sys
from ringfence.service.log import DecisionLog
log = DecisionLog(sys.argv[1], max_bytes=20000)
sys.stdin.readline()
for n in range(300):
    log.append({"writer": sys.argv[2], "n": n})
"""


def test_two_processes_and_threads_append_to_one_chain(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name],
                                stdin=subprocess.PIPE, text=True) for name in ("a", "b")]
    local = DecisionLog(path, max_bytes=20000)
    threads = [threading.Thread(target=lambda i=i: [local.append({"writer": f"t{i}", "n": n})
                                                    for n in range(100)]) for i in range(3)]
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer in writers:
        writer.stdin.close()
        assert writer.wait(timeout=60) == 0
    result = verify(path)
    assert result.problem is None
    records = [json.loads(line) for part in [*rotated_files(path), path] for line in lines(part)]
    counted = sum(1 for r in records if "writer" in r)
    assert counted == 900 and result.records == len(records)


def test_kill_9_under_load_loses_no_answered_decision(tmp_path, start_server, house_policy) -> None:
    log = tmp_path / "decisions.jsonl"
    server = start_server("-p", str(house_policy), "--insecure-local", "--log", str(log),
                          "--log-max-bytes", "200000", cwd=tmp_path)
    answered: list[str] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            for n in range(2000):  # bounded: the kill ends it long before
                if stop.is_set():
                    return
                call = {"to": f"+1212555{worker:02d}{n % 100:02d}", "at": "2026-06-15T12:00:00Z"}
                try:
                    answer = client.post("/v1/decide", json=[call, call])
                except httpx.TransportError:
                    return
                answered.extend(d["decision_id"] for d in answer.json()["decisions"])

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(answered) < 400 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(server.process.pid, signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join()
    server.process.wait()
    assert len(answered) >= 400
    result = verify(log)
    assert result.problem is None
    logged = {json.loads(line).get("decision_id")
              for part in [*rotated_files(log), log] for line in lines(part)}
    assert set(answered) <= logged
