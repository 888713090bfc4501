"""The system-call filter: the program is well formed and does what its table says (an
interpreter runs it on every listed call, fast), and every denial holds inside the real
sandbox as uid 65534, with the same calls unfiltered as the proof that the filter is what
denies them. Kernel keyrings get their own test: the grader's session keyring stays unreadable
and nothing passes from one run to the next through uid 65534's user keyring."""

from __future__ import annotations

import json
import os
import platform
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import seccomp as sc
from grader.sandbox.base import Limits
from grader.sandbox.bwrap import BubblewrapSandbox

MACHINES = ["x86_64", "aarch64"]
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97
CLONE_NEW = {
    "ns": 0x00020000,
    "cgroup": 0x02000000,
    "uts": 0x04000000,
    "ipc": 0x08000000,
    "user": 0x10000000,
    "pid": 0x20000000,
    "net": 0x40000000,
}
SIGCHLD = 17


# --- the program, run by a classic-BPF interpreter (fast) -----------------------------------
def _insns(prog: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack("=HBBI", prog[i : i + 8]) for i in range(0, len(prog), 8)]


def _run(prog: bytes, arch: int, nr: int, arg0: int = 0) -> int:
    """The action of the filter on one call (arg0: the low 32 bits of the first argument)."""
    data = struct.pack("=iIQ", nr, arch, 0) + struct.pack("=Q", arg0) + bytes(40)
    insns, pc, acc = _insns(prog), 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:  # ld [k]
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code in (0x15, 0x35, 0x45):  # jeq, jge, jset
            hit = acc == k if code == 0x15 else acc >= k if code == 0x35 else bool(acc & k)
            pc += 1 + (jt if hit else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")


ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
COMMON_ALLOWED = {  # calls every Python, TensorFlow and Jupyter process makes
    "x86_64": {
        "read": 0,
        "write": 1,
        "openat": 257,
        "mmap": 9,
        "futex": 202,
        "epoll_wait": 232,
        "socket": 41,
        "wait4": 61,
        "execve": 59,
        "prctl": 157,
        "getrandom": 318,
    },
    "aarch64": {
        "read": 63,
        "write": 64,
        "openat": 56,
        "mmap": 222,
        "futex": 98,
        "epoll_pwait": 22,
        "socket": 198,
        "wait4": 260,
        "execve": 221,
        "prctl": 167,
        "getrandom": 278,
    },
}


@pytest.mark.parametrize("machine", MACHINES)
def test_the_program_is_well_formed(machine):
    prog = sc.seccomp_program(machine)
    assert prog is not None and len(prog) % 8 == 0
    insns = _insns(prog)
    assert len(insns) <= 4096  # BPF_MAXINSNS
    for index, (code, jt, jf, _k) in enumerate(insns):
        if code in (0x15, 0x35, 0x45):  # every jump lands on an instruction
            assert index + 1 + max(jt, jf) < len(insns), index
    assert insns[-1][0] == 0x06  # ends in a return
    assert sc.seccomp_program("riscv64") is None


@pytest.mark.parametrize("machine", MACHINES)
def test_every_listed_call_is_denied_and_ordinary_calls_pass(machine):
    prog, arch, nr = sc.seccomp_program(machine), ARCH[machine], sc.syscall_numbers(machine)
    denied = sc.denied_calls(machine)
    # the brief of the filter: everything named here must be in the table
    for name in (
        "keyctl",
        "add_key",
        "request_key",
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "userfaultfd",
        "perf_event_open",
        "bpf",
        "io_uring_enter",
        "io_uring_register",
        "mount",
        "umount2",
        "pivot_root",
        "move_mount",
        "open_tree",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "mount_setattr",
        "unshare",
        "setns",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "clock_settime",
        "clock_adjtime",
        "settimeofday",
        "adjtimex",
        "acct",
        "swapon",
        "swapoff",
        "reboot",
        "syslog",
        "lookup_dcookie",
        "name_to_handle_at",
        "open_by_handle_at",
        "quotactl",
        "nfsservctl",
        "vhangup",
    ):
        assert name in denied, name
    if machine == "x86_64":
        assert {"iopl", "ioperm"} <= set(denied)
    assert len(set(nr.values())) == len(nr)  # no number twice
    for name in denied:
        assert _run(prog, arch, nr[name]) == sc.RET_ERRNO | EPERM, name
    for name in sc.ENOSYS_CALLS:
        assert _run(prog, arch, nr[name]) == sc.RET_ERRNO | ENOSYS, name
    for name, number in COMMON_ALLOWED[machine].items():
        assert _run(prog, arch, number) == sc.RET_ALLOW, name
    assert _run(prog, arch, nr["socket"], 40) == sc.RET_ERRNO | EAFNOSUPPORT  # AF_VSOCK
    assert _run(prog, arch, nr["socket"], 2) == sc.RET_ALLOW  # AF_INET (the namespace confines it)
    assert _run(prog, arch, nr["clone"], 0x01200000 | SIGCHLD) == sc.RET_ALLOW  # fork's flags
    assert _run(prog, arch, nr["clone"], 0x003D0F00) == sc.RET_ALLOW  # pthread_create's flags
    for flag in CLONE_NEW.values():
        assert _run(prog, arch, nr["clone"], flag | SIGCHLD) == sc.RET_ERRNO | EPERM
    for persona in sc.PERSONALITIES:
        assert _run(prog, arch, nr["personality"], persona) == sc.RET_ALLOW
    for persona in (0x0040000, 0x0400000, 0x0000001):  # ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, PER_SVR4
        assert _run(prog, arch, nr["personality"], persona) == sc.RET_ERRNO | EPERM
    assert _run(prog, 0x40000003, 0) == sc.RET_KILL_PROCESS  # i386 on x86_64, arm on aarch64
    if machine == "x86_64":
        assert _run(prog, arch, 0x40000000 | 1) == sc.RET_KILL_PROCESS  # x32


# --- inside the real sandbox (slow) ----------------------------------------------------------
PROBE = """
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def call(nr, *args):
    ctypes.set_errno(0)
    rc = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(os.getpid() if a == "PID" else a) for a in args])
    return [rc, ctypes.get_errno() if rc == -1 else 0]

calls = json.loads(sys.argv[1])
print(json.dumps({name: call(*spec) for name, spec in calls.items()}))
"""
# Arguments that make each call harmless, and (unfiltered) fail otherwise than with EPERM
# where the kernel allows it: the control run shows the filter is what denies them.
ARGS = {
    "keyctl": [0, -4, 0],  # KEYCTL_GET_KEYRING_ID of the user keyring
    "ptrace": [2, "PID", 0, 0],  # PTRACE_PEEKDATA of itself: ESRCH unfiltered
    "process_vm_readv": ["PID", 0, 0, 0, 0, 0],
    "process_vm_writev": ["PID", 0, 0, 0, 0, 0],
    "kcmp": ["PID", "PID", 0, 0, 0],
    "userfaultfd": [1],  # UFFD_USER_MODE_ONLY
    "setns": [-1, 0],
    "io_uring_enter": [-1, 0, 0, 0, 0, 0],
    "io_uring_register": [-1, 0, 0, 0],
    "pidfd_getfd": [-1, 0, 0],
    "process_madvise": [-1, 0, 0, 0, 0],
    "quotactl_fd": [-1, 0, 0, 0],
    "name_to_handle_at": [-100, 0, 0, 0, 0],
}
FILTER_MATTERS = (
    "keyctl",
    "ptrace",
    "process_vm_readv",
    "kcmp",
    "unshare",
    "setns",
    "pidfd_getfd",
    "clone3",
    "io_uring_setup",
    "personality_change",
)


def _calls(machine: str, unfiltered: bool) -> dict[str, list]:
    nr = sc.syscall_numbers(machine)
    calls = {name: [nr[name], *ARGS.get(name, [0] * 6)] for name in sc.denied_calls(machine)}
    calls.update({name: [nr[name], 0, 0, 0, 0, 0, 0] for name in sc.ENOSYS_CALLS})
    calls["personality_change"] = [nr["personality"], 0x0040000]  # ADDR_NO_RANDOMIZE
    calls["personality_query"] = [nr["personality"], 0xFFFFFFFF]
    calls["socket_vsock"] = [nr["socket"], 40, 1, 0]
    if not unfiltered:  # unfiltered, a clone would really fork the probe
        calls.update({f"clone_new{ns}": [nr["clone"], flag | SIGCHLD, 0, 0, 0, 0] for ns, flag in CLONE_NEW.items()})
    return calls


def _probe(sandbox, workdir: Path, calls: dict) -> dict:
    workdir.mkdir()
    outcome = sandbox.run(
        [sys.executable, "-c", PROBE, json.dumps(calls)],
        workdir=workdir,
        ro_paths=[],
        env={},
        limits=Limits(),
        timeout_s=60,
    )
    assert outcome.returncode == 0, outcome.stderr_tail
    return json.loads(outcome.stdout_tail.strip().splitlines()[-1])


def _sandbox_class(name: str):
    if name == "warm":
        if os.geteuid() != 0:
            pytest.skip("the warm sandbox needs root")
        from functools import partial

        from grader.sandbox.warm import WarmSandbox

        return partial(WarmSandbox, preload=False)  # the probes exec their command
    return BubblewrapSandbox


@pytest.fixture(scope="module", params=["bubblewrap", "warm"])
def probed(tmp_path_factory, request):
    """The same probe in both sandboxes: the warm one loads the filter itself."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap not installed")
    machine = platform.machine()
    if sc.seccomp_program(machine) is None:
        pytest.skip(f"no filter for {machine}")
    tmp = tmp_path_factory.mktemp("seccomp")
    kind = _sandbox_class(request.param)
    filtered = _probe(kind(), tmp / "on", _calls(machine, False))
    unfiltered = _probe(kind(seccomp=False), tmp / "off", _calls(machine, True))
    return machine, filtered, unfiltered


@pytest.mark.slow
def test_every_denied_call_fails_inside_the_sandbox(probed):
    machine, got, _ = probed
    wrong = {name: got[name] for name in sc.denied_calls(machine) if got[name] != [-1, EPERM]}
    assert wrong == {}
    assert {name: got[name] for name in sc.ENOSYS_CALLS} == {name: [-1, ENOSYS] for name in sc.ENOSYS_CALLS}
    assert got["personality_change"] == [-1, EPERM]
    assert got["personality_query"][0] >= 0  # asking is allowed
    assert got["socket_vsock"] == [-1, EAFNOSUPPORT]
    assert {k: v for k, v in got.items() if k.startswith("clone_new")} == {
        f"clone_new{ns}": [-1, EPERM] for ns in CLONE_NEW
    }


@pytest.mark.slow
def test_without_the_filter_the_same_calls_get_through(probed):
    """The control: these calls are refused by the filter, not by the uid or the namespaces."""
    _, filtered, unfiltered = probed
    for name in FILTER_MATTERS:
        assert unfiltered[name] != filtered[name], (name, unfiltered[name])


KEYRING_SCRIPT = '''
import ctypes, json, os, platform, sys, uuid
from pathlib import Path
from grader.sandbox import seccomp
from grader.sandbox.bwrap import BubblewrapSandbox
from grader.sandbox.base import Limits
if sys.argv[2] == "warm":
    from grader.sandbox.warm import WarmSandbox as BubblewrapSandbox

nr = seccomp.syscall_numbers(platform.machine())
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SESSION, USER = -3, -4

def key_users():
    for line in open("/proc/key-users"):
        uid, rest = line.split(":", 1)
        if int(uid) == 65534:
            return rest.split()[0]
    return "0"

# The grader's own session keyring, as an SSH login (pam_keyinit) gives it, holding a secret.
assert libc.syscall(nr["keyctl"], 1, None) > 0  # KEYCTL_JOIN_SESSION_KEYRING, anonymous
secret = b"the grader's secret " + uuid.uuid4().hex.encode()
serial = libc.syscall(nr["add_key"], b"user", b"dlgrade-secret", secret, len(secret), SESSION)
assert serial > 0, ctypes.get_errno()

INSIDE = r"""
import ctypes, json, sys
nr, serial, drop, cleanup = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
buf = ctypes.create_string_buffer(256)
out = {}
def call(name, *args):
    ctypes.set_errno(0)
    rc = libc.syscall(nr[name], *args)
    return rc, (ctypes.get_errno() if rc == -1 else 0)
rc, err = call("keyctl", 11, serial, buf, 256)  # KEYCTL_READ of the secret, by its number
out["read_secret"] = buf.raw[:rc].decode(errors="replace") if rc > 0 else err
rc, err = call("keyctl", 10, -3, b"user", b"dlgrade-secret", 0)  # KEYCTL_SEARCH the session keyring
out["search_session"] = "found" if rc > 0 else err
rc, err = call("request_key", b"user", b"dlgrade-secret", None, 0)
out["request_key"] = "found" if rc > 0 else err
if drop:  # leave a note for the next student in uid 65534's user keyring
    rc, err = call("add_key", b"user", drop.encode(), b"hello next run", 14, -4)
    out["add_user_key"] = "added" if rc > 0 else err
rc, err = call("keyctl", 10, -4, b"user", cleanup.encode(), 0)  # KEYCTL_SEARCH the user keyring
if rc > 0:
    n, e = call("keyctl", 6, rc, buf, 256)  # KEYCTL_DESCRIBE: its name carries the data
    out["found_note"] = buf.value.decode() if n > 0 else ["unreadable", e]
    call("keyctl", 3, rc)  # KEYCTL_REVOKE: the control run must not leave it behind
else:
    out["found_note"] = err
print(json.dumps(out))
"""

base = Path(sys.argv[1])
report = {"key_users_before": key_users()}
for label, seccomp_on in (("filtered", True), ("unfiltered", False)):
    sandbox = BubblewrapSandbox(seccomp=seccomp_on)
    note = uuid.uuid4().hex
    drop = "dlgrade-note-" + note
    for step, (d, c) in enumerate(((drop, "none"), ("", drop))):
        work = base / f"{label}{step}"
        work.mkdir()
        o = sandbox.run([sys.executable, "-c", INSIDE, json.dumps([nr, serial, d, c])], workdir=work,
                        ro_paths=[], env={}, limits=Limits(), timeout_s=60)
        assert o.returncode == 0, o.stderr_tail
        report[f"{label}{step}"] = json.loads(o.stdout_tail.strip().splitlines()[-1])
    report["note"] = note
    if seccomp_on:
        report["key_users_after"] = key_users()
libc.syscall(nr["keyctl"], 3, serial)  # KEYCTL_REVOKE
print(json.dumps({**report, "secret": secret.decode()}))
'''


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["bubblewrap", "warm"])
def test_keyrings_are_closed_to_the_notebook(tmp_path, kind):
    if shutil.which("bwrap") is None or sc.seccomp_program() is None:
        pytest.skip("needs bubblewrap and a filter for this machine")
    _sandbox_class(kind)
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", KEYRING_SCRIPT, str(tmp_path), kind],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    first, second = got["filtered0"], got["filtered1"]
    # the grader's session keyring: neither read by number, nor found by search
    assert first["read_secret"] == EPERM and first["search_session"] == EPERM and first["request_key"] == EPERM
    # no note left for the next run, and the next run cannot even look
    assert first["add_user_key"] == EPERM and second["found_note"] == EPERM
    assert got["key_users_after"] == got["key_users_before"]  # uid 65534 owns no new key
    # the control: without the filter both attacks work (so the test above tests something)
    assert got["unfiltered0"]["read_secret"] == got["secret"]
    assert got["unfiltered0"]["add_user_key"] == "added"
    assert got["unfiltered1"]["found_note"].endswith(";dlgrade-note-" + got["note"])
