"""ansible-playbook runs forked from one Python that has already imported ansible-playbook's code.

Each run is still a process of its own running ansible-playbook's main() with its own argv,
environment and output, from parsing the playbook to the exit code; what the runs share is the
interpreter start and the imports (about a sixth of a short run's CPU time), done once. For many
short runs side by side (the bad-input corpus: ~180 runs that stop in preflight).

ansible-core reads its configuration (ansible.cfg and the ANSIBLE_* variables) when it is imported,
so the server refuses a run whose ANSIBLE_* variables differ from those it started with.

Protocol (one JSON object a line): the client sends {"id", "argv", "env", "output"}; the server
forks, the child writes its stdout and stderr to the file `output`, and the server answers
{"id", "returncode"} when the child ends.
"""

from __future__ import annotations

import gc
import json
import os
import select
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

from .playbook import ANSIBLE_PLAYBOOK, REPO, PlaybookRun


def _ansible_settings(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key.startswith("ANSIBLE_")}


def _child(request: dict, settings: dict[str, str]) -> None:
    """In the forked child: become `ansible-playbook <argv>` with the request's environment."""
    code = 250
    try:
        fd = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.setsid()  # its own process group, as a separate ansible-playbook would be
        # A run lives seconds: no cycle collection (about a tenth of its CPU); nothing else changes.
        gc.disable()
        os.environ.clear()
        os.environ.update(request["env"])
        sys.stdin = open(os.devnull)  # noqa: SIM115 - the child's whole life
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        if _ansible_settings(request["env"]) != settings:
            raise RuntimeError("forkserver: the run's ANSIBLE_* settings differ from the server's")
        sys.argv = [str(ANSIBLE_PLAYBOOK), *request["argv"]]
        from ansible.cli.playbook import main

        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException as error:
        print(f"forkserver child: {error!r}", file=sys.stderr)
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(code)


def serve() -> None:
    import ansible.cli.playbook
    import ansible.executor.playbook_executor
    import ansible.plugins.strategy.linear  # noqa: F401

    settings = _ansible_settings(dict(os.environ))
    gc.freeze()  # the imported objects stay shared with the children, never copied by a collection
    children: dict[int, str] = {}
    pending = b""
    stdin = sys.stdin.buffer.fileno()
    open_input = True
    while open_input or children:
        readable, _, _ = select.select([stdin] if open_input else [], [], [], 0.02)
        if readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                open_input = False
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    _child(request, settings)
                children[pid] = request["id"]
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            answer = {"id": children.pop(pid), "returncode": os.waitstatus_to_exitcode(status)}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


class ForkServer:
    """The client: run(argv, env, output) from any thread, like subprocess.run of ansible-playbook."""

    def __init__(self, env: dict[str, str], log: Path):
        with open(log, "wb") as errors:  # the server's own warnings; each run's output has its file
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.forkserver"],
                cwd=REPO,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        self._lock = threading.Lock()
        self._waiting: dict[str, Future] = {}
        self._count = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            answer = json.loads(line)
            with self._lock:
                future = self._waiting.pop(answer["id"])
            future.set_result(answer["returncode"])
        with self._lock:
            for future in self._waiting.values():
                future.set_exception(RuntimeError("the fork server ended"))

    def run(self, argv: list[str], env: dict[str, str], output: Path, timeout: float) -> PlaybookRun:
        future: Future = Future()
        with self._lock:
            self._count += 1
            key = str(self._count)
            self._waiting[key] = future
            request = {"id": key, "argv": argv, "env": env, "output": str(output)}
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        returncode = future.result(timeout=timeout)
        return PlaybookRun(
            args=[str(ANSIBLE_PLAYBOOK), *argv], returncode=returncode, output=output.read_text(errors="replace")
        )

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=600)


if __name__ == "__main__":
    serve()
