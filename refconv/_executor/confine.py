"""Confining the executor before it loads any target code (Linux namespaces, uid, limits).

:func:`confine` runs first thing in the executor process, before the target is read. What it
can enforce depends on the platform and on the judge's privileges; it returns the list of what
it did, which the judge records in the report (``isolation``), and docs/security.md explains.

``namespaces`` (Linux, the judge running as root, e.g. a grading container):

1. new PID, mount, network, IPC and UTS namespaces. The executor forks once: the child is
   process 1 of the new PID namespace and serves the judge; the parent only waits for it and
   tells the judge the child's pid, so the judge can kill the whole namespace (every process in
   it dies with process 1: no child survives, none is left behind);
2. the whole file system read-only; a fresh ``/proc`` showing only the namespace's processes;
   empty private ``tmpfs`` on ``/tmp``, ``/var/tmp`` and ``/dev/shm`` (size-limited; ``/tmp/work``
   is the working directory); the folders listed in ``hide`` (a batch's folder of submissions)
   covered by an empty ``tmpfs`` holding only the target's own file;
3. any ancestor folder that the executor's uid could not enter (``/root`` of a root-owned
   Python, say) covered by an empty read-only ``tmpfs`` where only the paths Python needs (its
   prefixes, ``sys.path``, the target's folder) are bound back, read-only: the rest of it, e.g.
   the judge's home, is invisible;
4. a uid and gid of its own (no supplementary groups, ``no_new_privs``): it owns no file
   outside its ``tmpfs``, cannot signal the judge or other users' processes, and its process
   limit applies;
5. no network: the new network namespace has only a loopback interface, down.

``process`` (everywhere else, or when namespaces cannot be created): a new session and process
group, the resource limits below, a private working directory, a scrubbed environment. Same
uid as the judge: a hostile target could signal or write what the judge's user can.

Resource limits (both levels, ``setrlimit`` soft = hard): address space, CPU seconds, size of a
written file, open files, core dumps off; processes (uid-wide, so only with ``namespaces``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import stat
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

#: mount_setattr(2): the same number on every Linux architecture.
SYS_MOUNT_SETATTR = 442
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1


class ConfinementError(Exception):
    """A confinement step failed after the namespaces were created: the executor stops."""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise ConfinementError(f"{what}: {os.strerror(code)} (errno {code})")


def _bytes(text):
    return None if text is None else os.fsencode(text)


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    result = libc.mount(
        _bytes(source), _bytes(target), _bytes(fstype), ctypes.c_ulong(flags), _bytes(data)
    )
    _check(result, f"mount {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def _read_only(libc, path: str, recursive: bool = True) -> None:
    """Make the mount at ``path`` (and every mount below it) read-only in this namespace."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    result = libc.syscall(
        ctypes.c_long(SYS_MOUNT_SETATTR),
        ctypes.c_int(AT_FDCWD),
        os.fsencode(path),
        ctypes.c_uint(flags),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    if result == 0:
        return
    if ctypes.get_errno() != errno.ENOSYS:  # pragma: no cover - kernels older than 5.12 only
        _check(result, f"read-only {path}")
    # Older kernels: remount each mount point below `path` read-only, one by one.
    points = []
    with open("/proc/self/mountinfo") as table:
        for line in table:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == path or (recursive and point.startswith(path.rstrip("/") + "/")):
                points.append(point)
    for point in points:
        _mount(libc, None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _blocked_folders(path, uid: int) -> list:
    """The folders on the way to ``path`` (``path`` included) that ``uid`` (not their owner)
    may not enter. Each gets covered and the kept paths below it bound back: covering only the
    highest one is not enough, since a kept folder bound back (``sys.prefix`` of a venv made
    0700, say) would keep its own mode and hide everything under it again."""
    blocked = []
    current = ""
    for part in path.strip("/").split("/"):
        current += "/" + part
        try:
            info = os.stat(current)
        except OSError:
            break
        if stat.S_ISDIR(info.st_mode) and info.st_uid != uid and not info.st_mode & 0o001:
            blocked.append(current)
    return blocked


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


#: World-writable folders that get a private, size-limited tmpfs owned by the executor's uid.
PRIVATE = (("/tmp", "64m"), ("/var/tmp", "16m"), ("/dev/shm", "16m"))

#: Bounds on the target's folder copied into the executor's view (single-target mode).
MAX_COPIED_FILES = 200
MAX_COPIED_BYTES = 32 * 2**20


def _target_copies(target_file: str | None, siblings: bool) -> dict:
    """Contents of the target's file and, with ``siblings``, of the ``.py`` files beside it
    (helper modules), read now, while this process may still read them."""
    if not target_file:
        return {}
    folder = os.path.dirname(target_file)
    names = [target_file]
    if siblings:
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            entries = []
        names += [os.path.join(folder, e) for e in entries if e.endswith(".py")]
    copies, total = {}, 0
    for name in names[: MAX_COPIED_FILES + 1]:
        try:
            if not os.path.isfile(name) or os.path.islink(name):
                continue
            with open(name, "rb") as source:
                data = source.read(MAX_COPIED_BYTES + 1)
        except OSError:
            continue
        total += len(data)
        if total > MAX_COPIED_BYTES and name != target_file:
            break
        copies[name] = data
    return copies


def _file_system(libc, config: dict, keep: list, uid: int) -> list:
    """Steps 2 and 3 of the module docstring; returns the folders covered (not the private ones).

    ``keep`` are the paths that stay visible, read-only, at their own place: what Python needs,
    refconv's folder, the judge's working directory. Covered folders (private tmp, ``hide``,
    the target's folder, ancestors the uid may not enter) get an empty tmpfs; kept paths below a
    cover are bound back, from descriptors opened before it; covers and binds are mounted
    parents first, so a cover inside a kept path still hides. The target's folder then holds
    copies of the target (and, for a single target, its ``.py`` neighbours) only.
    """
    target_file = config.get("target_file")
    copies = _target_copies(target_file, bool(config.get("siblings")))
    private = {folder: size for folder, size in PRIVATE if os.path.isdir(folder)}
    covers = set(private) | {os.path.realpath(h) for h in config.get("hide", [])}
    reached = keep + ([target_file] if target_file else [])
    covers |= {folder for p in reached for folder in _blocked_folders(p, uid)}
    if target_file:
        covers.add(os.path.dirname(target_file))
    binds = {p for p in keep if p not in covers and any(_inside(p, c) for c in covers)}
    handles = {p: os.open(p, os.O_PATH) for p in sorted(binds)}
    _read_only(libc, "/")
    steps = [(path, "cover") for path in covers] + [(path, "bind") for path in binds]
    for path, step in sorted(steps, key=lambda s: (s[0].count("/"), s[0])):
        if step == "cover":
            os.makedirs(path, mode=0o755, exist_ok=True)
            if path in private:
                options = f"size={private[path]},mode=0700,uid={uid},gid={uid}"
            else:
                options = "size=64m,mode=0755"
            _mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options)
            continue
        handle = handles.pop(path)
        if os.path.isdir(f"/proc/self/fd/{handle}"):
            os.makedirs(path, mode=0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            open(path, "a").close()
        _mount(libc, f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
        os.close(handle)
        _read_only(libc, path)
    for path, data in copies.items():
        with open(path, "wb") as copy:
            copy.write(data)
        os.chmod(path, 0o644)
    for cover in covers - set(private):
        _read_only(libc, cover, recursive=False)
    os.makedirs("/tmp/work", exist_ok=True)
    os.chown("/tmp/work", uid, uid)
    return sorted(covers - set(private))


def _namespaces(libc, config: dict, info_fd: int, keep_fds: tuple) -> list:
    """Steps 1-5 of the module docstring; returns what was done (this process is then pid 1)."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    _check(libc.unshare(ctypes.c_int(flags)), "unshare")
    child = os.fork()
    if child:  # the waiter, outside the new PID namespace
        for fd in keep_fds:
            os.close(fd)
        os.write(info_fd, f"{child}\n".encode())
        os.close(info_fd)
        _, status = os.waitpid(child, 0)
        os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
    os.close(info_fd)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    uid = int(config["uid"])
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    keep = list(config.get("keep", []))
    keep += [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)]
    keep += [p for p in sys.path if p]
    keep = [os.path.realpath(p) for p in keep if os.path.exists(p)]
    covered = _file_system(libc, config, keep, uid)
    _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    done = [
        "pid, mount, network, ipc and uts namespaces",
        "read-only file system",
        "private /tmp, /var/tmp and /dev/shm",
        "a uid and gid of its own, no supplementary groups, no_new_privs",
        "no network",
    ]
    if covered:
        done.append("hidden: " + ", ".join(covered) + " (but for the paths the target needs)")
    return done


def _limits(config: dict, namespaces: bool) -> list:
    import resource

    wanted = [
        ("RLIMIT_AS", config.get("memory"), "address space {} bytes"),
        ("RLIMIT_CPU", config.get("cpu"), "CPU time {} s"),
        ("RLIMIT_FSIZE", config.get("file_size"), "written file size {} bytes"),
        ("RLIMIT_NOFILE", config.get("open_files"), "open files {}"),
        ("RLIMIT_CORE", 0, "core dumps {}"),
    ]
    if namespaces:  # uid-wide: meaningful only for a uid of its own
        wanted.append(("RLIMIT_NPROC", config.get("processes"), "processes {}"))
    done = []
    for name, value, text in wanted:
        if value is None or not hasattr(resource, name):
            continue
        try:
            resource.setrlimit(getattr(resource, name), (int(value), int(value)))
        except (ValueError, OSError):
            continue
        done.append(text.format(value))
    return done


def confine(config: dict, info_fd: int, keep_fds: tuple) -> dict:
    """Apply the strongest level ``config["level"]`` allows; return what is enforced.

    ``config["level"]``: ``"auto"`` (namespaces where possible, else process), ``"namespaces"``
    (fail if they cannot be had) or ``"process"``. ``keep_fds`` are the protocol's descriptors
    (closed in the waiter process). Raises :class:`ConfinementError` when a step fails.
    """
    level = config.get("level", "auto")
    enforced = ["separate process, own session and process group", "scrubbed environment"]
    reason = ""
    got_namespaces = False
    if level != "process":
        usable = sys.platform.startswith("linux") and os.geteuid() == 0
        if not usable:
            reason = "needs Linux and a judge running as root"
        else:
            libc = _libc()
            try:
                enforced += _namespaces(libc, config, info_fd, keep_fds)
                got_namespaces = True
            except ConfinementError as exc:
                if "unshare" not in str(exc):
                    raise  # half-confined: never serve
                reason = str(exc)
        if level == "namespaces" and not got_namespaces:
            raise ConfinementError(f"namespaces unavailable: {reason}")
    if not got_namespaces:
        os.close(info_fd)
        os.makedirs(config["workdir"], exist_ok=True)
        os.chdir(config["workdir"])
    else:
        os.chdir("/tmp/work")
    enforced += _limits(config, got_namespaces)
    return {
        "level": "namespaces" if got_namespaces else "process",
        "enforced": enforced,
        "not_available": reason,
    }
