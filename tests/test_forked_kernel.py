"""The worker's --fork-kernel: the kernel is a fork of the worker, and behaves as the exec'd one.

The notebooks run in one subprocess (forking pytest itself would copy the test session), which
prints what it saw as JSON; the tests read that. They start real kernels, exec'd and forked, so
they are slow tests; the provisioner's own logic is tested fast.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import nbformat
import pytest

# What a kernel reports about itself: compared between the exec'd and the forked kernel.
INTROSPECT = """\
import json, os, signal, sys
def _links():
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return out
print(json.dumps({
    "pid": os.getpid(),
    "cwd": os.getcwd(),
    "path": sys.path,
    "argv0": sys.argv[0],
    "argv_shape": [a if a.startswith("-") else "ARG" for a in sys.argv[1:]],
    "env": {k: v for k, v in os.environ.items() if k not in ("JPY_SESSION_NAME",)},
    "session_leader": os.getsid(0) == os.getpid() == os.getpgrp(),
    "sigterm": str(signal.getsignal(signal.SIGTERM)),
    "sigpipe": str(signal.getsignal(signal.SIGPIPE)),
    "stdin": os.readlink("/proc/self/fd/0"),
    "worker_file_open": any(link.endswith("worker-secret.txt") for link in _links()),
    "warm": "fork_marker" in sys.modules,
    "shell": type(get_ipython()).__name__,
    "numpy_draw": __import__("numpy").random.random(),
    # the kernel watches its worker and ends with it
    "watches_worker": __import__("ipykernel.kernelapp").kernelapp.IPKernelApp.instance().poller is not None,
}))
"""

BASIC_CELLS = [
    INTROSPECT,
    "import helper\nprint(helper.VALUE)",
    "%time total = sum(range(10))\nprint(total)",
    "1 / 0",
    "print('after the error')",
    "unclosed = open('unclosed.txt', 'w'); unclosed.write('flushed at exit')",
    "class Cycle:\n    def __del__(self):\n        open('finalized.txt', 'w').write('finalized at exit')\n"
    "cycle = Cycle(); cycle.me = cycle",
]

DRIVER = textwrap.dedent(
    """\
    import asyncio, json, os, sys
    from pathlib import Path

    import atexit, gc
    import nbformat
    import numpy.random  # its global generator is made, and seeded, at import
    import fork_marker  # imported by the worker before any fork
    from grader.inside import worker, forked_kernel

    root = Path(sys.argv[1])
    secret = open(root / "worker-secret.txt", "w")  # a descriptor the kernel must not inherit
    out = {"worker_pid": os.getpid()}

    def note(what):  # which process ran the worker's exit handlers and finalizers
        fd = os.open(root / "notes.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{what} {os.getpid()}\\n".encode())
        os.close(fd)

    atexit.register(note, "atexit")

    class Garbage:
        def __del__(self):
            note("finalized")

    real_fork = os.fork

    def fork_with_garbage():  # the worker's uncollected cycles at the moment of the fork
        gc.disable()
        for _ in range(50):
            cycle = [Garbage()]
            cycle.append(cycle)
        del cycle
        pid = real_fork()
        gc.enable()
        return pid

    forked_kernel.os.fork = fork_with_garbage

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def children():
        me = str(os.getpid())
        found = []
        for entry in os.listdir("/proc"):
            try:
                stat = Path("/proc", entry, "stat").read_text()
            except (OSError, ValueError):
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                found.append(int(entry))
        return found

    async def run(name, folder, fork, cell_timeout):
        nb = nbformat.read(root / folder / f"{folder}.ipynb", as_version=4)
        record = await worker.execute(
            nb, root / f"{name}.json", cell_timeout, 2**20, str(root / folder), fork_kernel=fork)
        out[name] = {"record": record, "outputs": [c.outputs for c in nb.cells]}
        for left in ("unclosed.txt", "finalized.txt"):  # written as the kernel exited
            if (root / folder / left).exists():
                out[name][left] = (root / folder / left).read_text()
                (root / folder / left).unlink()
        if folder.startswith("basic"):
            out[name]["kernel_alive_after"] = alive(json.loads(nb.cells[0].outputs[0]["text"])["pid"])

    # An interrupt goes by SIGINT to the kernel's process group, as jupyter_client sends it.
    async def interrupt():
        km = worker._forking_kernel_manager()
        await km.start_kernel(cwd=str(root))
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=30)
        msg_id = kc.execute("while True: pass")
        await asyncio.sleep(0.3)
        await km.interrupt_kernel()
        reply = await kc.get_shell_msg(timeout=10)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = await kc.get_shell_msg(timeout=10)
        for _ in range(50):  # ipykernel aborts what arrives just after an error: ask again
            after = await kc.execute("x = 41 + 1", reply=True, timeout=10)
            if after["content"]["status"] != "aborted":
                break
            await asyncio.sleep(0.1)
        # A restart forks again (the worker's zmq threads now running); a kill ends the new one.
        first = km.provisioner.pid
        await km.restart_kernel()
        await kc.wait_for_ready(timeout=30)
        again = await kc.execute("y = 1", reply=True, timeout=10)
        second = km.provisioner.pid
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
        out["interrupt"] = {"ename": reply["content"].get("ename"), "after": after["content"]["status"],
                            "restarted": again["content"]["status"] == "ok" and second != first,
                            "alive": alive(first) or alive(second)}

    async def cannot_start():  # as Popen would: the error is the parent's, no kernel is left
        km = worker._forking_kernel_manager()
        try:
            await km.start_kernel(cwd=str(root / "no-such-folder"))
        except OSError as exc:
            out["cannot_start"] = str(exc)
        await km.cleanup_resources()

    async def together():
        # The same notebook exec'd and forked, from a worker whose cwd is not the notebook's
        # folder; side by side, so the later forks happen while other kernels' sockets are open.
        await asyncio.gather(
            run("exec", "basic_exec", False, 20), run("fork", "basic_fork", True, 20), run("dead", "dead", True, 1),
            interrupt())

    sys.stdout.write("UNFLUSHED\\n")  # in the worker's buffer at the fork: written once, by it
    asyncio.run(together())
    asyncio.run(cannot_start())
    # Through main(), as the sandbox runs it.
    os.chdir(root / "timeout")
    worker.main(["timeout.ipynb", "out.ipynb", "record.json", "--cell-timeout", "1", "--fork-kernel"])
    out["timeout"] = {"record": json.loads(Path("record.json").read_text())}
    out["children_after"] = children()
    out["worker_numpy_draw"] = numpy.random.random()
    print("RESULT" + json.dumps(out))
    """
)


def _notebook(path, cells):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("forked")
    for mode in ("exec", "fork"):  # one folder each: the two run side by side
        _notebook(root / f"basic_{mode}" / f"basic_{mode}.ipynb", BASIC_CELLS)
        (root / f"basic_{mode}" / "helper.py").write_text("VALUE = 'beside the notebook'\n")
    _notebook(root / "timeout" / "timeout.ipynb", ["print('first')", "while True: pass", "print('never')"])
    _notebook(root / "dead" / "dead.ipynb", ["print('first')", "import os; os._exit(1)", "print('never')"])
    marker = root / "lib"
    marker.mkdir()
    (marker / "fork_marker.py").write_text("")
    env = {**__import__("os").environ, "PYTHONPATH": str(marker)}
    env.pop("PYTHONUNBUFFERED", None)
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(root)], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT") :])
    result["root"] = str(root)
    result["stdout"] = proc.stdout
    result["notes"] = (root / "notes.txt").read_text().split()
    return result


def _facts(run):
    return json.loads(run["outputs"][0][0]["text"])


@pytest.mark.slow
def test_outputs_and_errors_are_recorded_as_with_an_execd_kernel(runs):
    exec_, fork = runs["exec"], runs["fork"]
    assert [c["status"] for c in fork["record"]["cells"]] == ["ok", "ok", "ok", "error", "ok", "ok", "ok"]
    assert fork["record"]["status"] == exec_["record"]["status"] == "finished"
    strip = lambda cells: [{k: v for k, v in c.items() if k != "seconds"} for c in cells]  # noqa: E731
    assert strip(fork["record"]["cells"]) == strip(exec_["record"]["cells"])
    timed = BASIC_CELLS.index(next(c for c in BASIC_CELLS if c.startswith("%time")))
    same = [i for i in range(1, len(BASIC_CELLS)) if i != timed]  # not the introspection, not times
    assert [_joined(fork["outputs"][i]) for i in same] == [_joined(exec_["outputs"][i]) for i in same]
    assert _joined(fork["outputs"][1])[0]["text"] == "beside the notebook\n"


def _joined(outputs):
    """A cell's outputs with its stream pieces joined: how a print is cut into messages depends
    on timing, not on the kernel."""
    joined = []
    for out in outputs:
        if out["output_type"] == "stream" and joined and joined[-1].get("name") == out["name"]:
            joined[-1] = {**joined[-1], "text": joined[-1]["text"] + out["text"]}
        else:
            joined.append(out)
    return joined


@pytest.mark.slow
def test_the_kernel_looks_like_the_execd_one(runs):
    exec_, fork = _facts(runs["exec"]), _facts(runs["fork"])
    assert fork["cwd"] == runs["root"] + "/basic_fork" and exec_["cwd"] == runs["root"] + "/basic_exec"
    assert fork["path"] == exec_["path"] and "" in fork["path"]  # '' is the cwd: helper imported
    for key in ("argv0", "argv_shape", "env", "session_leader", "sigterm", "sigpipe", "shell", "watches_worker"):
        assert fork[key] == exec_[key], key
    assert fork["session_leader"] and fork["shell"] == "ZMQInteractiveShell" and fork["watches_worker"]
    assert fork["env"]["JPY_PARENT_PID"] != str(fork["pid"])
    assert fork["stdin"] == "/dev/null"
    assert not fork["worker_file_open"] and not exec_["worker_file_open"]


@pytest.mark.slow
def test_magics_run_in_the_forked_kernel(runs):
    text = runs["fork"]["outputs"][2]
    assert "Wall time" in "".join(o.get("text", "") for o in text) and "45\n" in text[-1]["text"]


@pytest.mark.slow
def test_modules_the_worker_imported_are_already_in_the_kernel(runs):
    assert _facts(runs["fork"])["warm"] is True
    assert _facts(runs["exec"])["warm"] is False


@pytest.mark.slow
def test_a_cell_past_its_time_limit_is_a_timeout(runs):
    record = runs["timeout"]["record"]
    assert record["status"] == "timeout"
    assert [c["status"] for c in record["cells"]] == ["ok", "timeout", "not-run"]


@pytest.mark.slow
def test_a_kernel_that_exits_is_dead(runs):
    record = runs["dead"]["record"]
    assert record["status"] == "dead"
    assert [c["status"] for c in record["cells"]] == ["ok", "dead", "not-run"]


@pytest.mark.slow
def test_no_kernel_is_left_behind(runs):
    assert runs["fork"]["kernel_alive_after"] is False
    assert runs["children_after"] == []
    assert runs["interrupt"]["alive"] is False


@pytest.mark.slow
def test_an_interrupt_reaches_the_forked_kernel_and_it_goes_on(runs):
    assert runs["interrupt"]["ename"] == "KeyboardInterrupt"
    assert runs["interrupt"]["after"] == "ok"


@pytest.mark.slow
def test_a_restart_forks_a_new_kernel(runs):
    assert runs["interrupt"]["restarted"] is True


def test_only_this_interpreters_ipykernel_launcher_is_forked():
    from grader.inside.forked_kernel import launcher_args  # imports ipykernel: not at collection

    assert launcher_args([sys.executable, "-m", "ipykernel_launcher", "-f", "c.json"]) == ["-f", "c.json"]
    assert launcher_args(["/other/python", "-m", "ipykernel_launcher", "-f", "c.json"]) is None
    assert launcher_args([sys.executable, "-m", "other_kernel", "-f", "c.json"]) is None


def test_forked_process_waits_signals_and_never_signals_a_reaped_pid():
    from grader.inside.forked_kernel import ForkedProcess

    child = subprocess.Popen(["sleep", "30"])
    process = ForkedProcess(child.pid)
    assert process.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.05)
    process.terminate()
    assert process.wait(timeout=5) == -signal.SIGTERM
    process.kill()  # reaped: nothing is sent, nothing raised
    assert process.poll() == -signal.SIGTERM


@pytest.mark.slow
def test_the_kernel_runs_none_of_the_workers_exit_handlers_or_finalizers(runs):
    pids = {int(pid) for pid in runs["notes"][1::2]}
    assert "atexit" in runs["notes"] and pids == {runs["worker_pid"]}


@pytest.mark.slow
def test_numpys_global_generator_is_not_the_workers(runs):
    # Python's random reseeds after a fork; numpy's does not unless told.
    assert _facts(runs["fork"])["numpy_draw"] != runs["worker_numpy_draw"]


@pytest.mark.slow
def test_the_kernel_exits_as_an_interpreter_does(runs):
    # What a student left open is flushed and their objects finalized, as at interpreter exit.
    # (The exec'd kernel does the same, but its interpreter's teardown can outlast the graceful
    # shutdown's few seconds on a loaded machine and be killed first: not asserted here.)
    fork = runs["fork"]
    assert fork.get("unclosed.txt") == "flushed at exit", fork["record"]
    assert fork.get("finalized.txt") == "finalized at exit", fork["record"]


@pytest.mark.slow
def test_a_kernel_that_cannot_be_set_up_is_the_workers_error(runs):
    assert "no-such-folder" in runs["cannot_start"]
    assert runs["children_after"] == []


@pytest.mark.slow
def test_what_the_worker_had_not_flushed_is_written_once(runs):
    assert runs["stdout"].count("UNFLUSHED") == 1
