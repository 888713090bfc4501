"""Hostile cases at the sandbox's edges: what a notebook can reach through the kernel (syscalls, keyrings) and what it leaves for copy-back.

The kernel cases call the system calls that the filter denies (grader/sandbox/seccomp.py) and raise
`_breach` before the answer when one of them works, so a hole costs the submission its points.
The copy-back case leaves links, FIFOs, sparse and hard-linked files for the grader to copy;
only regular files within the caps come back, named in the part `mnist_1layer-output`.
"""

from __future__ import annotations

from hostile.cases import ACCURACY, CORRECT, FULL, MODEL, NOTEBOOK, NOTHING, PRELUDE, SHAPES, Case, Host, case  # noqa: F401

OUTPUT = "mnist_1layer-output"  # the part that names what of a run was not kept

SYSCALLS = (
    PRELUDE
    + """
import ctypes, platform
from grader.sandbox.seccomp import syscall_numbers  # the kernel's numbers for this machine

_nr = syscall_numbers(platform.machine())
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

def _sys(name, *args):
    ctypes.set_errno(0)
    rc = _libc.syscall(ctypes.c_long(_nr[name]), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return rc, ctypes.get_errno()

def _must_fail(what, name, *args):
    rc, err = _sys(name, *args)
    if rc != -1:
        _breach(what + " (" + name + " returned " + str(rc) + ")")
"""
)


@case
def kernel_keyrings(h: Host) -> Case:
    # The grader's session keyring (an SSH login has one) is shared with every process it
    # starts; uid 65534's user keyring outlives a run, so it could carry data to the next one.
    attack = """
buf = ctypes.create_string_buffer(4096)
_must_fail("joined the session keyring", "keyctl", 0, -3, 1)  # KEYCTL_GET_KEYRING_ID, create
_must_fail("listed the session keyring", "keyctl", 11, -3, buf, 4096)  # KEYCTL_READ
_must_fail("listed the user keyring", "keyctl", 11, -4, buf, 4096)
_must_fail("searched for a key", "request_key", b"user", b"dlgrade-secret", None, 0)
_must_fail("left a note for the next run", "add_key", b"user", b"note-for-the-next-run", b"hi", 2, -4)
_must_fail("joined a new session keyring", "keyctl", 1, None)  # KEYCTL_JOIN_SESSION_KEYRING
"""
    return Case("kernel_keyrings", FULL, vars=SYSCALLS + attack + CORRECT, status="finished")


@case
def kernel_ptrace_parent(h: Host) -> Case:
    # The kernel's parent is the worker that writes the record: attaching to it, reading its
    # memory or taking its file descriptors would let the notebook forge its own grade.
    attack = """
ppid = os.getppid()
_must_fail("attached to the worker", "ptrace", 16, ppid, 0, 0)  # PTRACE_ATTACH
_must_fail("seized the worker", "ptrace", 0x4206, ppid, 0, 0)  # PTRACE_SEIZE

class _iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

start = None
try:
    for line in open("/proc/%d/maps" % ppid):
        if line.split()[1].startswith("r"):
            start = int(line.split("-")[0], 16)
            break
except OSError:
    pass
local = ctypes.create_string_buffer(64)
mine, theirs = _iovec(ctypes.cast(local, ctypes.c_void_p), 64), _iovec(start or 0x400000, 64)
_must_fail("read the worker's memory", "process_vm_readv", ppid, ctypes.byref(mine), 1, ctypes.byref(theirs), 1, 0)
_must_fail("wrote the worker's memory", "process_vm_writev", ppid, ctypes.byref(mine), 1, ctypes.byref(theirs), 1, 0)
pidfd = os.pidfd_open(ppid)
_must_fail("took the worker's record file", "pidfd_getfd", pidfd, 1, 0)
_must_fail("compared files with the worker", "kcmp", os.getpid(), ppid, 0, 0, 0)  # KCMP_FILE
"""
    return Case("kernel_ptrace_parent", FULL, vars=SYSCALLS + attack + CORRECT, status="finished")


@case
def kernel_unshare(h: Host) -> Case:
    # A new user namespace gives every capability inside it: the usual way into kernel bugs.
    attack = """
NEWUSER, NEWNS, NEWNET, NEWPID, NEWIPC, NEWUTS, NEWCGROUP = (0x10000000, 0x00020000, 0x40000000,
                                                             0x20000000, 0x08000000, 0x04000000, 0x02000000)
for flags in (NEWUSER, NEWUSER | NEWNS, NEWUSER | NEWNET, NEWNS, NEWNET, NEWPID, NEWIPC, NEWUTS, NEWCGROUP, 0):
    _must_fail("unshared %#x" % flags, "unshare", flags)
for ns in ("net", "mnt", "user", "pid"):
    fd = os.open("/proc/self/ns/" + ns, os.O_RDONLY)
    _must_fail("entered a " + ns + " namespace", "setns", fd, 0)
# clone with a new namespace, as a fork would (SIGCHLD as the exit signal)
_must_fail("cloned into a new user namespace", "clone", NEWUSER | 17, 0, 0, 0, 0)
_must_fail("clone3 answered", "clone3", 0, 0)
"""
    return Case("kernel_unshare", FULL, vars=SYSCALLS + attack + CORRECT, status="finished")


@case
def kernel_mount(h: Host) -> Case:
    attack = f"""
_sys("unshare", 0x10000000 | 0x00020000)  # a user and mount namespace first, where mounting is allowed
_must_fail("mounted a tmpfs", "mount", b"none", b"/tmp", b"tmpfs", 0, None)
_must_fail("bind-mounted the canary", "mount", {str(h.canary_dir).encode()!r}, b"/tmp", None, 0x1000, None)
_must_fail("remounted / writable", "mount", None, b"/", None, 0x20 | 0x1000, None)  # MS_REMOUNT|MS_BIND
_must_fail("unmounted /proc", "umount2", b"/proc", 2)
_must_fail("opened a file system", "fsopen", b"tmpfs", 0)
_must_fail("cloned the mount tree", "open_tree", -100, b"/", 1)  # OPEN_TREE_CLONE
_must_fail("moved a mount", "move_mount", -1, b"", -100, b"/tmp", 4)
_must_fail("picked a mount", "fspick", -100, b"/", 0)
_must_fail("changed mount flags", "mount_setattr", -100, b"/", 0, None, 0)
_must_fail("changed root", "chroot", b"/tmp")
_must_fail("pivoted root", "pivot_root", b"/tmp", b"/tmp")
"""
    return Case("kernel_mount", FULL, vars=SYSCALLS + attack + CORRECT, status="finished")


@case
def kernel_surface(h: Host) -> Case:
    # calls a notebook never needs, each a known way into kernel bugs or the machine's state
    attack = """
attr = ctypes.create_string_buffer(128)
attr[0:4] = (1).to_bytes(4, "little")  # PERF_TYPE_SOFTWARE, config 0: cpu-clock of itself
attr[4:8] = (128).to_bytes(4, "little")
_must_fail("opened a perf event", "perf_event_open", attr, 0, -1, -1, 0)
_must_fail("made a userfaultfd", "userfaultfd", 1)  # UFFD_USER_MODE_ONLY
params = ctypes.create_string_buffer(120)
_must_fail("set up io_uring", "io_uring_setup", 1, params)
_must_fail("loaded a bpf program", "bpf", 5, attr, 128)  # BPF_PROG_LOAD
_must_fail("changed its personality", "personality", 0x0040000)  # ADDR_NO_RANDOMIZE
_must_fail("read the kernel log", "syslog", 10, None, 0)  # SYSLOG_ACTION_SIZE_BUFFER
_must_fail("set the clock", "settimeofday", None, None)
_must_fail("opened a file by handle", "open_by_handle_at", -100, attr, 0)
_must_fail("loaded a module", "finit_module", -1, b"", 0)
_must_fail("turned on accounting", "acct", None)
"""
    return Case("kernel_surface", FULL, vars=SYSCALLS + attack + CORRECT, status="finished")


@case
def copyback_junk(h: Host) -> Case:
    # What the grader copies back: a sparse file that reads as hundreds of MiB, hundreds of hard
    # links to it, links to host files (in the export folder too), a FIFO, a socket.
    junk = f"""
import os, socket, grader.inside.kernel as _k
out = _k.outdir()
def sparse(path):
    with open(path, "wb") as fh:
        try:
            fh.truncate(512 * 2**20)
        except OSError:  # over the file-size limit: the largest it allows
            fh.truncate(60 * 2**20)
sparse(os.path.join(out, "sparse.bin"))
sparse("sparse-top.bin")
os.makedirs(os.path.join(out, "links"))
for i in range(300):
    os.link(os.path.join(out, "sparse.bin"), os.path.join(out, "links", "hard%d.bin" % i))
with open(os.path.join(out, "small.bin"), "wb") as fh:
    fh.write(b"s" * 2**20)
for i in range(100):
    os.link(os.path.join(out, "small.bin"), os.path.join(out, "links", "small%d.bin" % i))
for name, target in (("shadow", "/etc/shadow"), ("solution.ipynb", {str(h.solutions_dir / NOTEBOOK)!r}),
                     ("root", "/"), ("mnist1_accuracy/planted.npy", {str(h.labels_dir / "mnist/y_holdout.npy")!r})):
    os.symlink(target, os.path.join(out, name))
os.symlink("/etc", "etc-link")
os.mkfifo(os.path.join(out, "fifo"))
socket.socket(socket.AF_UNIX).bind(os.path.join(out, "sock"))
"""
    return Case(
        "copyback_junk",
        {**FULL, OUTPUT: 0},
        vars=CORRECT,
        after_train=junk,
        status="finished",
        messages={OUTPUT: "is a symbolic link: not kept"},
    )
