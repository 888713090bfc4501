"""The bubblewrap sandbox, tested with real processes: what student code can see, reach, write
and consume, and that nothing of it survives the run."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import pytest

import grader
from grader.sandbox import cgroups
from grader.sandbox.base import Limits, MiB, ProcessOutcome, Unsandboxed
from grader.sandbox.bwrap import NOBODY, BubblewrapSandbox, SandboxUnavailable, make_sandbox, seccomp_program

REPO = Path(grader.__path__[0]).resolve().parent

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="root-setpriv mode needs root")


@pytest.fixture(scope="module", params=["bubblewrap", "warm"])
def sandbox(request) -> BubblewrapSandbox:
    """Every isolation test runs on both sandboxes: bubblewrap, and the warm workers forked from
    a zygote (root only), which must isolate a run exactly as bubblewrap does."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap not installed")
    if request.param == "bubblewrap":
        yield BubblewrapSandbox()
        return
    if os.geteuid() != 0:
        pytest.skip("the warm sandbox needs root")
    from grader.sandbox.warm import WarmSandbox

    warm = WarmSandbox(preload=False)  # these runs exec their command: nothing to preload
    yield warm
    warm.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


def _processes_with(marker: str) -> list[int]:
    """Pids of host processes whose command line contains marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def run(
    sandbox: BubblewrapSandbox,
    code: str,
    workdir: Path,
    *,
    ro_paths: list[Path] = (),
    timeout_s: float = 60,
    **limits,
) -> tuple[ProcessOutcome, str]:
    """Run a Python snippet in the sandbox; returns the outcome and a marker that is on the
    command line of every process of the run (to look for leftovers afterwards)."""
    marker = f"dlgrade-test-{uuid.uuid4().hex}"
    outcome = sandbox.run(
        [sys.executable, "-c", textwrap.dedent(code), marker],
        workdir=workdir,
        ro_paths=list(ro_paths),
        env={},
        limits=Limits(**limits),
        timeout_s=timeout_s,
    )
    return outcome, marker


def result(outcome: ProcessOutcome) -> dict:
    """The JSON object the snippet printed last."""
    assert outcome.returncode == 0, outcome.stderr_tail
    return json.loads(outcome.stdout_tail.strip().splitlines()[-1])


# --- identity and reporting --------------------------------------------------------------------
@needs_root
def test_runs_as_nobody_without_capabilities(sandbox, workdir):
    outcome, _ = run(
        sandbox,
        """
        import json, os
        status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines())
        print(json.dumps({"ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
                          "groups": os.getgroups(), "cap": status["CapEff"].strip(),
                          "bnd": status["CapBnd"].strip(), "nnp": status["NoNewPrivs"].strip(),
                          "home": os.environ["HOME"], "cwd": os.getcwd()}))
    """,
        workdir,
    )
    got = result(outcome)
    assert got["ids"] == [NOBODY] * 4
    assert got["groups"] == []
    assert int(got["cap"], 16) == 0 and int(got["bnd"], 16) == 0
    assert got["nnp"] == "1"
    assert got["cwd"] == str(workdir) and got["home"].startswith(str(workdir) + "/")
    info = outcome.sandbox
    assert info["isolated"] is True
    assert (info["name"], info["mode"]) in (("bubblewrap", "root-setpriv"), ("warm", "zygote"))
    assert not info["caveats"]  # the warm sandbox did not fall back to bubblewrap
    assert info["cgroup"] in ("v1", "v2")
    assert info["limits"] == Limits().to_dict()


@needs_bwrap
def test_exit_status_passes_through(sandbox, workdir):
    outcome, _ = run(sandbox, "import os; os._exit(3)", workdir)
    assert outcome.returncode == 3
    assert outcome.stopped is None


@needs_bwrap
def test_numpy_imports(sandbox, workdir):
    outcome, _ = run(
        sandbox,
        """
        import json, numpy
        print(json.dumps({"sum": int(numpy.arange(10).sum())}))
    """,
        workdir,
    )
    assert result(outcome) == {"sum": 45}


@pytest.mark.slow
@needs_bwrap
def test_tensorflow_trains(sandbox, workdir):
    outcome, _ = run(
        sandbox,
        """
        import json, numpy as np, tensorflow as tf
        m = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(1)])
        m.compile("sgd", "mse")
        h = m.fit(np.ones((32, 4)), np.ones((32, 1)), epochs=2, verbose=0)
        print(json.dumps({"epochs": len(h.history["loss"])}))
    """,
        workdir,
        timeout_s=120,
    )
    assert result(outcome) == {"epochs": 2}


# --- network -----------------------------------------------------------------------------------
@needs_bwrap
def test_tcp_to_host_listener_fails(sandbox, workdir):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]
    try:
        outcome, _ = run(
            sandbox,
            f"""
            import json, socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3)
                err = None
            except OSError as exc:
                err = type(exc).__name__
            print(json.dumps({{"error": err}}))
        """,
            workdir,
        )
        assert result(outcome)["error"] is not None
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
    finally:
        listener.close()


@needs_bwrap
def test_udp_and_dns_fail(sandbox, workdir):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    port = receiver.getsockname()[1]
    try:
        outcome, _ = run(
            sandbox,
            f"""
            import json, socket
            out = {{}}
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"hello", ("127.0.0.1", {port}))  # the sandbox's own loopback
            try:
                s.sendto(b"hello", ("192.0.2.1", 53))  # anywhere outside
                out["udp_out"] = None
            except OSError as exc:
                out["udp_out"] = exc.errno
            try:
                socket.getaddrinfo("pypi.org", 443)
                out["dns"] = None
            except OSError as exc:
                out["dns"] = type(exc).__name__
            print(json.dumps(out))
        """,
            workdir,
        )
        got = result(outcome)
        assert got["udp_out"] is not None
        assert got["dns"] == "gaierror"
        receiver.setblocking(False)
        with pytest.raises(BlockingIOError):
            receiver.recv(100)  # the datagram for 127.0.0.1 never left the sandbox
    finally:
        receiver.close()


@needs_bwrap
def test_vsock_and_new_user_namespaces_are_denied(sandbox, workdir):
    if sandbox.seccomp is None:
        pytest.skip("no seccomp filter for this architecture")
    outcome, _ = run(
        sandbox,
        """
        import ctypes, errno, json, socket
        try:
            socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
            vsock = None
        except OSError as exc:
            vsock = exc.errno
        libc = ctypes.CDLL(None, use_errno=True)
        rc = libc.unshare(0x10000000)  # CLONE_NEWUSER
        print(json.dumps({"vsock": vsock, "unshare": [rc, ctypes.get_errno()]}))
    """,
        workdir,
    )
    got = result(outcome)
    assert got["vsock"] == 97  # EAFNOSUPPORT
    assert got["unshare"] == [-1, 1]  # EPERM


# --- files -------------------------------------------------------------------------------------
@needs_bwrap
def test_host_files_are_invisible(sandbox, workdir, tmp_path):
    canary = tmp_path / "secret" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text("answer key")
    canary.chmod(0o644)
    outcome, _ = run(
        sandbox,
        f"""
        import json, os
        def exists(p): return os.path.exists(p)
        print(json.dumps({{
            "canary": exists({str(canary)!r}),
            "solutions": exists({str(REPO / "solutions")!r}),
            "tests": exists({str(REPO / "tests")!r}),
            "grader": exists({str(REPO / "grader" / "sandbox" / "base.py")!r}),
            "repo": sorted(os.listdir({str(REPO)!r})),
            "root": sorted(os.listdir("/")),
            "etc": sorted(os.listdir("/etc")),
            "home": exists("/home"),
        }}))
    """,
        workdir,
    )
    got = result(outcome)
    assert got["canary"] is False
    assert got["solutions"] is False and got["tests"] is False
    assert got["grader"] is True
    assert set(got["repo"]) <= {"grader", ".venv"}
    assert "shadow" not in got["etc"] and "passwd" in got["etc"]
    # Only the system folders and the first components of the paths the sandbox binds
    # (Python, the venv, the grader package, the work folder), wherever the checkout lives.
    bound = {Path(p).resolve().parts[1] for p in (sys.base_prefix, sys.prefix, REPO, workdir)}
    system = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr"}
    assert set(got["root"]) <= system | bound
    if "home" not in bound:
        assert got["home"] is False


@needs_bwrap
def test_ro_paths_are_readable_not_writable(sandbox, workdir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.txt").write_text("data")
    outcome, _ = run(
        sandbox,
        f"""
        import json
        text = open({str(data / "x.txt")!r}).read()
        try:
            open({str(data / "y.txt")!r}, "w")
            err = None
        except OSError as exc:
            err = exc.errno
        print(json.dumps({{"text": text, "write": err}}))
    """,
        workdir,
        ro_paths=[data],
    )
    got = result(outcome)
    assert got["text"] == "data" and got["write"] is not None
    assert not (data / "y.txt").exists()


@needs_root
def test_writes_outside_workdir_fail_and_leave_nothing(sandbox, workdir):
    name = f"dlgrade-{uuid.uuid4().hex}"
    targets = ["/usr", "/etc", "/", str(REPO / "grader"), sys.prefix, sys.base_prefix, "/root"]
    outcome, _ = run(
        sandbox,
        f"""
        import json, os
        out = {{}}
        for d in {targets!r}:
            try:
                open(os.path.join(d, {name!r}), "w").write("x")
                out[d] = "written"
            except OSError as exc:
                out[d] = exc.errno
        open("/tmp/{name}", "w").write("private tmp")
        open("out.txt", "w").write("work")
        print(json.dumps(out))
    """,
        workdir,
    )
    got = result(outcome)
    assert all(v != "written" for v in got.values()), got
    for d in targets + ["/tmp"]:
        assert not (Path(d) / name).exists()
    written = workdir / "out.txt"
    assert written.read_text() == "work"
    assert written.stat().st_uid == NOBODY


# --- limits ------------------------------------------------------------------------------------
@needs_root
def test_memory_limit_stops_allocation(sandbox, workdir):
    outcome, _ = run(
        sandbox,
        """
        chunks = []
        while True:
            chunks.append(b"x" * (16 << 20))
    """,
        workdir,
        memory_bytes=256 * MiB,
    )
    assert outcome.stopped == "memory"
    assert outcome.stopped_detail == "killed: memory limit 256 MiB"
    assert 128 * MiB < outcome.peak_memory_bytes <= 256 * MiB


@needs_root
def test_fork_bomb_is_contained(sandbox, workdir):
    outcome, marker = run(
        sandbox,
        """
        import json, os, time
        n = 0
        for _ in range(500):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(120)
                os._exit(0)
            n += 1
        print(json.dumps({"children": n}))
    """,
        workdir,
        max_tasks=32,
    )
    assert result(outcome)["children"] < 32
    assert _processes_with(marker) == []  # the sleeping children died with the run


@needs_bwrap
def test_infinite_loop_hits_wall_timeout(sandbox, workdir):
    outcome, marker = run(
        sandbox,
        """
        import os
        if os.fork() == 0:
            os.setsid()  # a child that tries to escape the process group
        while True:
            pass
    """,
        workdir,
        timeout_s=1.5,
    )
    assert outcome.stopped == "wall-timeout"
    assert outcome.wall_s < 10
    assert _processes_with(marker) == []


@needs_bwrap
def test_file_size_limit(sandbox, workdir):
    outcome, _ = run(
        sandbox,
        """
        import json
        try:
            with open("big.bin", "wb") as fh:
                fh.write(b"x" * (2 << 20))
            err = None
        except OSError as exc:
            err = exc.errno
        print(json.dumps({"errno": err}))
    """,
        workdir,
        file_size_bytes=1 * MiB,
    )
    assert result(outcome)["errno"] == 27  # EFBIG
    assert (workdir / "big.bin").stat().st_size <= 1 * MiB


@needs_root
def test_private_tmp_is_size_capped(sandbox, workdir):
    outcome, _ = run(
        sandbox,
        """
        import json
        try:
            with open("/tmp/fill", "wb") as fh:
                for _ in range(64):
                    fh.write(b"x" * (1 << 20))
            err = None
        except OSError as exc:
            err = exc.errno
        print(json.dumps({"errno": err}))
    """,
        workdir,
        tmp_bytes=8 * MiB,
    )
    assert result(outcome)["errno"] == 28  # ENOSPC


@needs_root
def test_run_cgroup_is_removed(sandbox, workdir):
    layout = cgroups.detect_layout()
    if layout is None:
        pytest.skip("no cgroup here")
    run(sandbox, "pass", workdir)
    parents = {p for p in (layout.memory, layout.pids) if p is not None}
    left = [d for p in parents for d in p.glob(f"dlgrade-{os.getpid()}-*")]
    assert left == []


SYSTEM_PYTHON = Path("/usr/bin/python3")


@needs_root
@pytest.mark.skipif(not SYSTEM_PYTHON.exists(), reason="no system Python to run as an ordinary user")
def test_userns_mode_for_ordinary_users():
    """Run the grader itself as uid 65534 (with the system Python, which that user can read):
    bubblewrap then isolates through a user namespace and the outcome says what is weaker."""
    if not os.access(REPO / "grader", os.R_OK | os.X_OK) or (REPO.stat().st_mode & 0o005) != 0o005:
        pytest.skip("the repository is not readable by other users")
    base = Path(tempfile.mkdtemp(prefix="dlgrade-userns-"))
    try:
        os.chmod(base, 0o755)
        work = base / "work"
        work.mkdir()
        os.chown(work, NOBODY, NOBODY)
        script = textwrap.dedent(f"""
            import json
            from pathlib import Path
            from grader.sandbox.bwrap import BubblewrapSandbox
            from grader.sandbox.base import Limits
            code = "import os, socket; print(os.getuid()); socket.create_connection(('192.0.2.1', 80), timeout=2)"
            o = BubblewrapSandbox().run(["/usr/bin/python3", "-c", code], workdir=Path({str(work)!r}),
                                        ro_paths=[], env={{}}, limits=Limits(max_tasks=256), timeout_s=20)
            print(json.dumps({{"rc": o.returncode, "out": o.stdout_tail, "err": o.stderr_tail,
                              "sandbox": o.sandbox}}))
        """)
        proc = subprocess.run(
            [
                "setpriv",
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                "--",
                str(SYSTEM_PYTHON),
                "-c",
                script,
            ],
            capture_output=True,
            text=True,
            cwd=base,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(work)},
        )
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(base)
    assert got["out"].strip() == str(NOBODY)
    assert got["rc"] == 1 and "Network is unreachable" in got["err"]
    assert got["sandbox"]["mode"] == "userns"
    assert any("user-namespace mode" in c for c in got["sandbox"]["caveats"])


# --- choosing a sandbox ------------------------------------------------------------------------
def test_make_sandbox_without_bwrap_names_the_fix(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(SandboxUnavailable, match=r"apt-get install bubblewrap.*--no-sandbox"):
        make_sandbox(False)
    assert isinstance(make_sandbox(True), Unsandboxed)


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_seccomp_program_assembles(machine):
    prog = seccomp_program(machine)
    assert prog is not None and len(prog) % 8 == 0
    assert seccomp_program("riscv64") is None


# --- cgroup discovery and v2 logic on a fake tree (this host may have only one version) --------
V1_MOUNTINFO = """\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
V1_PROC = "8:pids:/\n4:memory:/jobs/abc\n0::/\n"


def test_detect_layout_v1_hybrid(tmp_path):
    layout = cgroups.detect_layout(V1_MOUNTINFO, V1_PROC)
    assert layout == cgroups.Layout(
        "v1", memory=Path("/sys/fs/cgroup/memory/jobs/abc"), pids=Path("/sys/fs/cgroup/pids")
    )


def test_detect_layout_container_view_strips_mount_root():
    mountinfo = "35 31 0:32 /jobs /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    layout = cgroups.detect_layout(mountinfo, "4:memory:/jobs/abc\n")
    assert layout.memory == Path("/sys/fs/cgroup/memory/abc") and layout.pids is None


def test_detect_layout_none_without_controllers():
    assert cgroups.detect_layout("41 31 0:38 / /x rw - cgroup2 cgroup2 rw\n", "0::/\n") is None


def _fake_v2(tmp_path: Path) -> cgroups.Layout:
    own = tmp_path / "user.slice" / "grader"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text("cpu memory pids\n")
    (own / "cgroup.subtree_control").write_text("memory pids\n")
    mountinfo = f"41 31 0:38 / {tmp_path} rw - cgroup2 cgroup2 rw\n"
    layout = cgroups.detect_layout(mountinfo, "0::/user.slice/grader\n")
    assert layout == cgroups.Layout("v2", memory=own, pids=own)
    return layout


def test_v2_run_cgroup_limits_peak_and_oom(tmp_path):
    layout = _fake_v2(tmp_path)
    cg = cgroups.create_run_cgroup(256 * MiB, 64, layout=layout, name="run1")
    group = layout.memory / "run1"
    assert (group / "memory.max").read_text() == str(256 * MiB)
    assert (group / "pids.max").read_text() == "64"
    assert not cg.oom_killed()
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    (group / "memory.peak").write_text("268000000\n")
    assert cg.oom_killed()
    assert cg.peak_memory_bytes() == 268000000


def test_v2_without_delegation_is_unavailable(tmp_path):
    layout = _fake_v2(tmp_path)
    control = layout.memory / "cgroup.subtree_control"
    control.write_text("")
    control.chmod(0o444)
    if os.access(control, os.W_OK):  # root ignores file modes: make it a directory instead
        control.unlink()
        control.mkdir()
    with pytest.raises(cgroups.CgroupUnavailable, match="Delegate=yes"):
        cgroups.create_run_cgroup(256 * MiB, 64, layout=layout)
