"""Fresh kernels without the start-up cost: a zygote process forks one kernel per notebook.

Every survey notebook starts the same way: a Python process, ipykernel, pandas, matplotlib
and surveylib imported, about a second of CPU before its first line runs. During a build a
zygote (``python surveylib/build/zygote.py SOCKET``, started by :class:`Zygote` in the
project root) imports them once and forks a kernel for each notebook. Each kernel is still a
new process with its own memory that no other notebook touched: only modules are imported
ahead, never the notebook's code, and the imports are those that have no effect before
IPython runs (not pyplot or the inline backend, which hook into the running kernel).

The kernel manager launches ``_zygote_client.py`` in place of ``ipykernel_launcher``; it hands
the kernel's arguments, environment and working folder to the zygote and stands in for the
forked kernel (signals, exit status). Linux only: elsewhere, or with SURVEYLIB_FORK_KERNELS=0,
the build starts kernels the usual way.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

CLIENT = Path(__file__).with_name("_zygote_client.py")
# Imported once in the zygote: what every kernel and survey notebook imports, minus anything
# that registers itself with a running IPython (pyplot, matplotlib_inline).
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "numpy", "pandas", "matplotlib",
           "matplotlib.figure", "matplotlib.backends.backend_agg", "surveylib", "surveylib.authoring", "surveylib.survey",
           "surveylib.taxonomy", "surveylib.check")


def enabled() -> bool:
    return sys.platform == "linux" and os.environ.get("SURVEYLIB_FORK_KERNELS", "1") != "0"


class Zygote:
    """The zygote process of one build: ``start()`` it in ``root`` with ``python``; use
    :meth:`kernel_cmd` to turn a kernel command into one served by it; ``stop()`` it."""

    def __init__(self, python: str, root: Path, sockdir: Path):
        self.python, self.root = python, root
        self.socket = str(sockdir / "zygote")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Zygote":
        # Run as a script, so the socket is there before anything heavy is imported.
        self.proc = subprocess.Popen([self.python, str(Path(__file__)), self.socket], cwd=self.root,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def kernel_cmd(self, cmd: list[str]) -> list[str]:
        """``cmd`` (python -m ipykernel_launcher ...) as a zygote-served command, or ``cmd``
        unchanged when it is another kernel or another Python."""
        if (self.proc is None or self.proc.poll() is not None or len(cmd) < 3
                or cmd[1:3] != ["-m", "ipykernel_launcher"]
                or not same_python(cmd[0], self.python)):
            return cmd
        return [cmd[0], str(CLIENT), self.socket, *cmd[3:]]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def same_python(a: str, b: str) -> bool:
    """Whether interpreters ``a`` and ``b`` are one Python with one set of packages: the same
    binary in the same folder (a venv's bin/python and bin/python3; not another venv's python,
    which links to the same base binary but has other packages)."""
    a, b = shutil.which(a) or a, shutil.which(b) or b
    return (os.path.dirname(os.path.abspath(a)) == os.path.dirname(os.path.abspath(b))
            and os.path.realpath(a) == os.path.realpath(b))


def kernel_manager_class(zygote: Zygote | None):
    """An AsyncKernelManager whose kernels the zygote forks (the plain one without zygote)."""
    from jupyter_client.manager import AsyncKernelManager

    if zygote is None:
        return AsyncKernelManager

    class ForkedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            return zygote.kernel_cmd(super().format_kernel_cmd(extra_arguments))

    return ForkedKernelManager


# --- the zygote process ----------------------------------------------------------------------

def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except Exception:  # noqa: BLE001 - best effort; the kernel's parent poller also watches
        pass


def serve(path: str) -> None:
    """Listen on ``path``, import :data:`PRELOAD`, then fork a kernel for each request."""
    _die_with_parent()
    parent = os.getppid()
    # As ipykernel_launcher: neither this script's folder nor the working folder is
    # importable while the kernel loads (IPython puts the working folder back), and
    # ipykernel's matplotlib backend is chosen before matplotlib is imported.
    if sys.path and Path(sys.path[0] or ".").resolve() in (Path(__file__).resolve().parent, Path.cwd()):
        del sys.path[0]
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)  # clients may connect (and wait) while the imports below run
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the kernel imports it itself, and reports any error
            pass
    kernels: dict[int, socket.socket] = {}  # pid -> its client's connection
    orphans: set[int] = set()  # kernels whose client went away (killed): killed, not yet reaped
    while os.getppid() == parent:
        waiting = [listener, *(c for pid, c in kernels.items() if pid not in orphans)]
        ready, _, _ = select.select(waiting, [], [], 0.05)
        for sock in ready:
            if sock is listener:
                conn, _ = listener.accept()
                request = json.loads(conn.makefile("r", encoding="utf-8").readline())
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    for other in kernels.values():
                        other.close()
                    _run_kernel(request, conn)  # never returns
                kernels[pid] = conn
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            else:  # a client said nothing more, so it is gone: its kernel goes too
                pid = next(p for p, c in kernels.items() if c is sock)
                orphans.add(pid)
                _kill(pid)
        while kernels:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = kernels.pop(pid, None)
            orphans.discard(pid)
            if conn is not None:
                code = os.waitstatus_to_exitcode(status)
                try:
                    conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
                except OSError:
                    pass
                conn.close()
    for pid in kernels:
        _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run_kernel(request: dict, conn: socket.socket) -> None:
    """In the forked child: become the kernel the client asked for, then exit."""
    code = 1
    try:
        _die_with_parent()
        for signum in (signal.SIGINT,):
            signal.signal(signum, signal.default_int_handler)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        conn.close()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())  # ipykernel's poller watches the zygote
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        # A new process would seed these from the OS; forked ones would share the zygote's.
        import random

        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        # What `python -m ipykernel_launcher` run by the kernel manager would see.
        import importlib.util

        sys.executable = request.get("executable") or sys.executable
        launcher = importlib.util.find_spec("ipykernel_launcher")
        sys.argv = [launcher.origin if launcher and launcher.origin else "ipykernel_launcher", *request["argv"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(argv=request["argv"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - report like an interpreter would, then exit
        import traceback

        traceback.print_exc()
    finally:
        import atexit

        atexit._run_exitfuncs()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":
    serve(sys.argv[1])
