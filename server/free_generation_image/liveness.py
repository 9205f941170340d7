"""Is a job's owner alive? On one machine: its process exists (and, in this process, its registry is open)."""

from __future__ import annotations

import os
import sys

# Registries alive in this process: a job whose owner is not here and whose pid is ours was left by a
# service instance that has already closed (tests, or an embedding app that restarts the service).
LIVE_OWNERS: set[str] = set()


def owner_alive(pid: int, owner: str) -> bool:
    if pid == os.getpid():
        return owner in LIVE_OWNERS
    return pid_alive(pid)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check only (on Windows os.kill would terminate it)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but not ours to signal
    return True


if sys.platform == "win32":

    def _windows_pid_alive(pid: int) -> bool:
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return bool(kernel32.GetLastError() == 5)  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)


__all__ = ["LIVE_OWNERS", "owner_alive", "pid_alive"]
