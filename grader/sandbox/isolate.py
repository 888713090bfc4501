"""What bubblewrap and setpriv do for a run, done in Python for a process that cannot exec: a
warm worker forked from the zygote (`grader.sandbox.zygote`), which must be isolated exactly as a
bubblewrap run before it reads one byte of a submission.

The calls, in the order a run makes them (the names say which bubblewrap or setpriv option each
stands for):

- `unshare_namespaces`: new mount, pid, network, ipc, uts and cgroup namespaces (--unshare-*);
- `build_root` (in the new pid namespace's process 1): the file system of
  `grader.sandbox.layout`'s steps on a fresh tmpfs, then pivot_root into it, the host's root
  detached, and the new root read-only; `set_hostname` and `loopback_up` (--hostname, the
  loopback bubblewrap brings up in a new network namespace);
- `drop_to_nobody`: no groups, uid and gid 65534, an empty bounding set, no inheritable or
  ambient capabilities, no_new_privs (setpriv --reuid --regid --clear-groups --inh-caps=-all
  --bounding-set=-all --no-new-privs);
- `load_seccomp`: the same filter program bubblewrap receives (--seccomp).

Every call raises OSError with the call's name when the kernel refuses it: a run that cannot be
isolated never starts.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import platform
import re
import socket
import struct
from pathlib import Path

from grader.sandbox.layout import Step
from grader.sandbox.seccomp import syscall_numbers

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 0x20, 0x400, 0x800, 0x1000
MS_REC, MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 0x4000, 0x40000, 0x200000, 0x1000000
MNT_DETACH = 0x2
_OPTION_FLAGS = {  # mountinfo's per-mount options that a remount must keep
    "ro": MS_RDONLY,
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
}

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP = 1, 4, 22
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL, SECCOMP_MODE_FILTER = 4, 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# What bubblewrap's --dev gives: these host devices, and links into /proc.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
    "fd": "/proc/self/fd",
    "core": "/proc/kcore",
    "ptmx": "pts/ptmx",
}
PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus")  # bubblewrap covers these in --proc

_libc = ctypes.CDLL(None, use_errno=True)
_ulong = ctypes.c_ulong


def _check(result: int, name: str) -> int:
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")
    return result


def _b(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> int:
    return _check(_libc.prctl(option, _ulong(arg2), _ulong(arg3), _ulong(0), _ulong(0)), f"prctl({option})")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), _ulong(flags), _b(data)), f"mount {target}")


def umount(target: str) -> None:
    _check(_libc.umount2(_b(target), MNT_DETACH), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    number = syscall_numbers(platform.machine())["pivot_root"]
    _check(_libc.syscall(ctypes.c_long(number), _b(new_root), _b(put_old)), "pivot_root")


def unshare_namespaces() -> None:
    """New mount, pid, network, ipc and uts namespaces, and a cgroup namespace (rooted at the
    run's group, which the caller joined before) where the kernel has them. The pid namespace
    takes effect for the next child, which becomes its process 1."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")
    if os.path.exists("/proc/self/ns/cgroup"):  # bubblewrap's --unshare-cgroup-try
        _check(_libc.unshare(ctypes.c_int(CLONE_NEWCGROUP)), "unshare cgroup")


def set_hostname(name: str) -> None:
    socket.sethostname(name)


def loopback_up() -> None:
    """Bring up `lo` in the new network namespace (as bubblewrap does): the kernel and its
    client talk over 127.0.0.1; nothing else exists in the namespace."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, siocgifflags, request)[:18])[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))


# --- the file system ----------------------------------------------------------------------------
MOUNTINFO = "/oldroot/proc/self/mountinfo"  # while the root is built: the host's /proc, our own mounts


def _mounts_at_or_below(path: str) -> list[tuple[str, int]]:
    """(mount point, flags to keep) of every mount at or below `path`, from mountinfo."""
    found = []
    for line in Path(MOUNTINFO).read_text().splitlines():
        fields = line.split()
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])  # \040 is a space
        if point == path or point.startswith(path.rstrip("/") + "/"):
            flags = 0
            for option in fields[5].split(","):
                flags |= _OPTION_FLAGS.get(option, 0)
            found.append((point, flags))
    return found


def _bind(source: str, target: str, read_only: bool) -> None:
    """Bind `source` at `target` with everything mounted below it; every mount of it nosuid and
    nodev, and read-only when asked (as bubblewrap's --bind and --ro-bind)."""
    mount(source, target, None, MS_BIND | MS_REC)
    extra = MS_NOSUID | MS_NODEV | (MS_RDONLY if read_only else 0)
    for point, flags in _mounts_at_or_below(target):
        mount(None, point, None, MS_BIND | MS_REMOUNT | flags | extra)


def _make_parents(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)


def _mount_point(source: str, target: str) -> None:
    _make_parents(target)
    if os.path.isdir(source):
        os.makedirs(target, mode=0o755, exist_ok=True)
    elif not os.path.exists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o444))


def _mount_dev(target: str, host_dev: str) -> None:
    os.makedirs(target, mode=0o755, exist_ok=True)
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for name in DEVICES:
        if os.path.exists(f"{host_dev}/{name}"):
            os.close(os.open(f"{target}/{name}", os.O_CREAT | os.O_WRONLY, 0o666))
            mount(f"{host_dev}/{name}", f"{target}/{name}", None, MS_BIND)
    os.mkdir(f"{target}/shm", 0o755)
    os.mkdir(f"{target}/pts", 0o755)
    mount("devpts", f"{target}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    for name, link in DEV_LINKS.items():
        os.symlink(link, f"{target}/{name}")


def _mount_proc(target: str) -> None:
    os.makedirs(target, mode=0o755, exist_ok=True)
    mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name in PROC_READ_ONLY:
        path = f"{target}/{name}"
        if os.path.exists(path):
            _bind(path, path, read_only=True)


def carry_out(step: Step, new_root: str, old_root: str) -> None:
    """One layout step, building the file system under `new_root` from the host's at `old_root`."""
    target = new_root + step.path
    if step.kind in ("ro-bind", "bind"):
        source = old_root + step.path
        _mount_point(source, target)
        _bind(source, target, read_only=step.kind == "ro-bind")
    elif step.kind == "symlink":
        _make_parents(target)
        os.symlink(step.target, target)
    elif step.kind == "dir":
        os.makedirs(target, mode=step.mode, exist_ok=True)
        os.chmod(target, step.mode)
    elif step.kind == "file":
        _make_parents(target)
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, step.mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(step.data)
        os.chmod(target, step.mode)
    elif step.kind == "tmpfs":
        os.makedirs(target, mode=0o755, exist_ok=True)
        options = f"mode={step.mode:o}" + (f",size={step.size}" if step.size else "")
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)
    elif step.kind == "proc":
        _mount_proc(target)
    elif step.kind == "dev":
        _mount_dev(target, old_root + "/dev")
    else:
        raise ValueError(f"unknown sandbox step: {step.kind}")


def build_root(steps: list[Step], base: str = "/tmp") -> None:
    """Make the layout the process's whole file system, as bubblewrap does: a tmpfs on `base`
    (in this mount namespace only) becomes the root with the host's at /oldroot; the steps build
    /newroot from it; then /newroot becomes the root, the host's root is detached and the new
    root is made read-only. Must run in a new mount namespace, as process 1 of a new pid
    namespace (for /proc)."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host
    mount("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.mkdir(f"{base}/newroot", 0o755)
    os.mkdir(f"{base}/oldroot", 0o755)
    pivot_root(base, f"{base}/oldroot")
    os.chdir("/")
    mount("/newroot", "/newroot", None, MS_BIND | MS_REC)  # a mount point, for the last pivot
    old_umask = os.umask(0)
    try:
        for step in steps:
            carry_out(step, "/newroot", "/oldroot")
    finally:
        os.umask(old_umask)
    mount(None, "/oldroot", None, MS_REC | MS_PRIVATE)
    umount("/oldroot")
    os.chdir("/newroot")
    pivot_root(".", ".")  # the old root (the base tmpfs) now sits on top of the new one
    umount(".")
    os.chdir("/")
    mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


# --- privileges ---------------------------------------------------------------------------------
class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return 63


def _drop_bounding_set() -> None:
    for cap in range(_last_cap() + 1):  # needs CAP_SETPCAP: before the uid changes
        prctl(PR_CAPBSET_DROP, cap)


def _clear_capabilities() -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()  # all zero
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def drop_capabilities() -> None:
    """An empty bounding set, no ambient capabilities, and no capability left in the effective,
    permitted or inheritable sets, with no_new_privs: what is left of root is only the uid."""
    _drop_bounding_set()
    _clear_capabilities()


def drop_to_nobody(uid: int, gid: int) -> None:
    """No supplementary groups, then gid and uid (real, effective, saved), and no capability."""
    os.setgroups([])
    _drop_bounding_set()
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _clear_capabilities()
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise OSError("the sandbox user could not be set")


def load_seccomp(program: bytes) -> None:
    """Install the classic BPF filter (the bytes of `grader.sandbox.seccomp.seccomp_program`);
    needs no_new_privs set first."""

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.addressof(buffer))
    _check(
        _libc.prctl(PR_SET_SECCOMP, _ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog), _ulong(0), _ulong(0)), "seccomp"
    )


def die_with_parent(sig: int) -> None:
    """Be sent `sig` when the parent dies (bubblewrap's --die-with-parent)."""
    prctl(PR_SET_PDEATHSIG, sig)
