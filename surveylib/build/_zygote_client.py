"""The "kernel" command a build's kernel manager runs: it asks the zygote for a kernel.

Run as a script (``python _zygote_client.py SOCKET ARGS...``), not as part of the surveylib
package, so it starts in milliseconds. It sends the kernel's arguments, environment and
working folder to the zygote (surveylib/build/zygote.py), which forks a kernel; then it stands
in for that kernel: signals it receives are passed on, and it exits when the kernel exits,
with its status. If it is killed, the zygote sees the connection close and kills the kernel.
"""
import json
import os
import signal
import socket
import sys
import time


def main() -> int:
    path, args = sys.argv[1], sys.argv[2:]
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + 60
    while True:  # the zygote may still be starting
        try:
            conn.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    request = {"argv": args, "env": dict(os.environ), "cwd": os.getcwd(), "executable": sys.executable}
    conn.sendall(json.dumps(request).encode() + b"\n")
    reader = conn.makefile("r", encoding="utf-8")
    kernel = json.loads(reader.readline())["pid"]

    def forward(signum, _frame):
        try:
            os.kill(kernel, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, forward)
    line = reader.readline()
    status = json.loads(line)["exit"] if line else 1
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
