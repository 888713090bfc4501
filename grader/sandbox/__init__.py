"""Where student code meets the operating system: the Sandbox protocol and limits, bubblewrap,
the seccomp filter and per-run cgroups.
"""
