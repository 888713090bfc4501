"""The sandbox's system-call filter: a classic BPF program for `bwrap --seccomp FD`.

A deny-list at least as strict as Docker's default seccomp profile where it matters for a
notebook, assembled by hand (the libseccomp binding is not a pip package). The namespaces, the
dropped uid and the empty capability set already stop most of these calls; the filter closes
what they leave open and makes each denial independent of the kernel's settings:

- kernel keyrings (`keyctl`, `add_key`, `request_key`): they are shared across namespaces, so a
  notebook could read the grader's session keyring, or leave data in uid 65534's user keyring
  for the next student;
- other processes' memory and fds (`ptrace`, `process_vm_readv/writev`, `pidfd_getfd`, `kcmp`,
  `process_madvise`, `move_pages`, `migrate_pages`);
- kernel attack surface that a notebook never needs: `userfaultfd`, `perf_event_open`, `bpf`,
  `io_uring_*` (which can also create sockets without `socket()`), `fanotify_init`;
- namespaces and mounts: every `unshare` and `setns`, `clone` with any CLONE_NEW* flag (`clone3`,
  whose flags sit behind a pointer BPF cannot follow, answers ENOSYS so the C library falls back
  to `clone`), the whole mount family, `chroot`;
- the machine's state: kexec and module loading, clock changes, `personality` other than the
  values Docker allows, `acct`, swap, `reboot`, `syslog`, host and domain names, quotas,
  file handles, `iopl`/`ioperm`, `vhangup` and the obsolete x86 calls;
- `socket(AF_VSOCK)`: vsock reaches the hypervisor host and no network namespace confines it;
- any other system-call ABI (32-bit, x32), which would bypass these rules: the process is killed.

Denied calls fail with EPERM (EAFNOSUPPORT for vsock, ENOSYS where the C library needs to fall
back), as if the kernel lacked the permission or the call, so well-behaved libraries carry on.
"""

from __future__ import annotations

import platform
import struct
import sys

# Numbers from the kernel's tables: arch/x86/entry/syscalls/syscall_64.tbl and, for aarch64,
# include/uapi/asm-generic/unistd.h. aarch64 lacks the legacy calls (iopl, create_module, ...).
_COMMON = {  # names whose numbers differ per architecture: (x86_64, aarch64)
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "kcmp": (312, 272),
    "move_pages": (279, 239),
    "migrate_pages": (256, 238),
    "userfaultfd": (323, 282),
    "perf_event_open": (298, 241),
    "bpf": (321, 280),
    "fanotify_init": (300, 262),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "unshare": (272, 97),
    "setns": (308, 268),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "clock_settime": (227, 112),
    "clock_adjtime": (305, 266),
    "settimeofday": (164, 170),
    "adjtimex": (159, 171),
    "acct": (163, 89),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "reboot": (169, 142),
    "syslog": (103, 116),
    "lookup_dcookie": (212, 18),
    "sethostname": (170, 161),
    "setdomainname": (171, 162),
    "name_to_handle_at": (303, 264),
    "open_by_handle_at": (304, 265),
    "quotactl": (179, 60),
    "nfsservctl": (180, 42),
    "vhangup": (153, 58),
    # the calls with a special rule below
    "socket": (41, 198),
    "clone": (56, 220),
    "personality": (135, 92),
}
_SAME = {  # numbers shared by both tables (added after the tables were unified)
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "clone3": 435,
    "pidfd_getfd": 438,
    "process_madvise": 440,
    "mount_setattr": 442,
    "quotactl_fd": 443,
}
_X86_ONLY = {
    "iopl": 172,
    "ioperm": 173,
    "uselib": 134,
    "ustat": 136,
    "sysfs": 139,
    "_sysctl": 156,
    "create_module": 174,
    "get_kernel_syms": 177,
    "query_module": 178,
}


def syscall_numbers(machine: str) -> dict[str, int]:
    """{name: number} of every call the filter names, for `machine` (x86_64 or aarch64)."""
    column = {"x86_64": 0, "aarch64": 1}[machine]
    table = {name: pair[column] for name, pair in _COMMON.items()}
    table.update(_SAME)
    if machine == "x86_64":
        table.update(_X86_ONLY)
    return table


# Answered ENOSYS: the C library (clone3) or a library (io_uring) falls back to an older call.
ENOSYS_CALLS = ("clone3", "io_uring_setup")
SPECIAL_CALLS = ("socket", "clone", "personality")  # decided on their first argument


def denied_calls(machine: str) -> list[str]:
    """The calls answered EPERM whatever their arguments, in the order the program tests them."""
    return [n for n in syscall_numbers(machine) if n not in ENOSYS_CALLS + SPECIAL_CALLS]


_ARCHES = {"x86_64": (0xC000003E, 0x40000000), "aarch64": (0xC00000B7, 0)}  # AUDIT_ARCH, x32 bit
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97
AF_VSOCK = 40
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (CLONE_NEWTIME shares its
# bit with the exit signal in clone(), and is refused there by the kernel)
CLONE_NEW_MASK = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
# Docker's default profile: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the query.
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
_ARG0 = 16  # offsetof(struct seccomp_data, args[0]); its low 32 bits on little-endian


def seccomp_program(machine: str | None = None) -> bytes | None:
    """The filter as bytes for `bwrap --seccomp FD`, or None on an architecture not covered."""
    machine = machine or platform.machine()
    if machine not in _ARCHES or sys.byteorder != "little":
        return None
    audit_arch, x32_bit = _ARCHES[machine]
    nr = syscall_numbers(machine)
    prog: list[tuple] = [
        (_LD_W_ABS, 0, 0, 4),  # arch
        (_JEQ, 0, "kill", audit_arch),
        (_LD_W_ABS, 0, 0, 0),  # syscall number
    ]
    if x32_bit:
        prog.append((_JGE, "kill", 0, x32_bit))
    prog += [(_JEQ, "enosys", 0, nr[name]) for name in ENOSYS_CALLS]
    prog += [
        (_JEQ, "socket", 0, nr["socket"]),
        (_JEQ, "clone", 0, nr["clone"]),
        (_JEQ, "personality", 0, nr["personality"]),
    ]
    prog += [(_JEQ, "eperm", 0, nr[name]) for name in denied_calls(machine)]
    prog += [
        (_RET, 0, 0, RET_ALLOW),
        ("socket:", _LD_W_ABS, 0, 0, _ARG0),
        (_JEQ, "eafnosupport", "allow", AF_VSOCK),
        ("clone:", _LD_W_ABS, 0, 0, _ARG0),
        (_JSET, "eperm", "allow", CLONE_NEW_MASK),
        ("personality:", _LD_W_ABS, 0, 0, _ARG0),
    ]
    prog += [(_JEQ, "allow", 0, value) for value in PERSONALITIES]
    prog += [
        ("eperm:", _RET, 0, 0, RET_ERRNO | EPERM),
        ("eafnosupport:", _RET, 0, 0, RET_ERRNO | EAFNOSUPPORT),
        ("enosys:", _RET, 0, 0, RET_ERRNO | ENOSYS),
        ("allow:", _RET, 0, 0, RET_ALLOW),
        ("kill:", _RET, 0, 0, RET_KILL_PROCESS),
    ]
    return _assemble(prog)


def _assemble(prog: list[tuple]) -> bytes:
    """Resolve labels ("name:" before an instruction) into forward jump offsets."""
    labels, insns = {}, []
    for item in prog:
        if isinstance(item[0], str):
            labels[item[0].rstrip(":")] = len(insns)
            item = item[1:]
        insns.append(item)

    def offset(target, index: int) -> int:
        if isinstance(target, int):
            return target
        jump = labels[target] - index - 1
        if not 0 <= jump <= 255:  # classic BPF jumps forward by one byte
            raise ValueError(f"jump to {target} out of range: {jump}")
        return jump

    return b"".join(
        struct.pack("=HBBI", code, offset(jt, i), offset(jf, i), k) for i, (code, jt, jf, k) in enumerate(insns)
    )
