"""A real two-node Ray cluster (two ``ray start`` processes on this machine, one CPU each): the Ray
engine writes the local engine's bytes, and still does when the second node is killed mid-run.

The cluster is this module's own: its processes are found by its private temporary folder and
killed by pid when the module ends (``ray stop --force`` would stop every Ray on the machine).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

RAY = Path(sys.executable).with_name("ray")
START = 120  # seconds a node may take to start on a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(processes) -> dict[int, psutil.Process]:
    found = {}
    for p in processes:
        try:
            found[p.pid] = p
            found.update((c.pid, c) for c in p.children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    return found


def _kill(processes: dict[int, psutil.Process]) -> None:
    for p in processes.values():
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(list(processes.values()), timeout=10)


def _cluster_processes(folder: str) -> dict[int, psutil.Process]:
    """Every process of the cluster kept in ``folder``, and their children (workers and agents)."""
    mine = os.getpid()
    tagged = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if p.pid != mine and any(folder in a for a in p.info["cmdline"] or ()):
                tagged.append(p)
        except psutil.NoSuchProcess:
            pass
    return _tree(tagged)


class Cluster:
    def __init__(self, folder: str, env: dict[str, str]):
        self.folder, self.env = folder, env
        self.port, self.second_port = _free_port(), _free_port()
        self.address = f"127.0.0.1:{self.port}"

    def start(self) -> None:
        common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
        head = [str(RAY), "start", "--head", "--port", str(self.port), "--temp-dir", self.folder, "--include-dashboard=false"]
        second = [str(RAY), "start", "--address", self.address, "--node-manager-port", str(self.second_port)]
        for command in (head + common, second + common):
            subprocess.run(command, env=self.env, check=True, capture_output=True, timeout=START)

    def second_node(self) -> dict[int, psutil.Process]:
        """The second node's raylet and its children (its workers and agents)."""
        flag = f"--node_manager_port={self.second_port}"
        return _tree(p for p in psutil.process_iter(["cmdline"]) if flag in (p.info["cmdline"] or ()))

    def stop(self) -> None:
        _kill(_cluster_processes(self.folder))


@pytest.fixture(scope="module")
def cluster():
    folder = tempfile.mkdtemp(prefix="hnr", dir="/tmp")  # short: Ray's socket paths must stay under 107 bytes
    token = Path(folder) / "token"
    token.write_text(secrets.token_hex(32))  # the cluster's own token, not the user's
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "RAY_USAGE_STATS_ENABLED": "0"}
    cluster = Cluster(folder, env)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _mine(beir: Path, model: Path, out: Path, env: dict[str, str], *extra: str) -> list[str]:
    return [sys.executable, "-m", "hardneg", "mine", "--data", str(beir), "--model", str(model), "--out", str(out),
            "--shard-size", "64", "--query-chunk-size", "4", "--seed", "3", "--no-show-progress", *extra]  # fmt: skip


def test_a_cluster_that_loses_a_node_writes_the_rows_of_the_local_engine(cluster, tiny_model, make_beir, hardneg_env, tmp_path):
    beir = make_beir(n_docs=2_000, n_queries=400)
    env = {**hardneg_env, **{k: v for k, v in cluster.env.items() if k.startswith("RAY_")}}
    local = tmp_path / "local.parquet"
    subprocess.run(_mine(beir, tiny_model, local, env), env=env, check=True, capture_output=True, timeout=300)
    on_ray = ("--engine", "ray", "--ray-address", cluster.address)

    whole = tmp_path / "whole.parquet"
    env_whole = {**env, "HARDNEG_CACHE": str(tmp_path / "cache-whole")}
    done = subprocess.run(
        _mine(beir, tiny_model, whole, env_whole, *on_ray), env=env_whole, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert whole.read_bytes() == local.read_bytes()

    # The second node dies as soon as its actor is up (a cold cache: encoding, then mining, is still to come).
    lost = tmp_path / "lost.parquet"
    env_lost = {**env, "HARDNEG_CACHE": str(tmp_path / "cache-lost")}
    run = subprocess.Popen(_mine(beir, tiny_model, lost, env_lost, *on_ray), env=env_lost, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while run.poll() is None and time.monotonic() < deadline:
        node = cluster.second_node()
        if any("_Worker" in " ".join(p.cmdline()) for p in node.values() if p.is_running()):
            _kill(node)
            break
        time.sleep(0.05)
    else:
        run.kill()
        pytest.fail("the second node never ran an actor of the run")
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err[-3000:]
    assert "a Ray worker was lost" in err
    assert lost.read_bytes() == local.read_bytes()  # nothing lost, nothing written twice
