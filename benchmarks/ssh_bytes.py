"""How many bytes a run to convergence writes to an 80x24 terminal per second (the cost over SSH).

Runs ``tui-backprop`` in a pseudo-terminal of 80x24 (as ``script`` or an SSH session would), waits
for the first screen, presses ``c`` and counts the bytes the app writes for 10 s (or until the
run stops). The scenario is XOR with the stop conditions switched off, so it runs the whole time.
Prints KB/s against the target of 30 KB/s, and which screen rows took the bytes, so a region that
repaints too often is easy to find.

    python benchmarks/ssh_bytes.py [--seconds 10] [--size 80x24] [-- extra tui-backprop arguments]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections import Counter

TARGET_KB_S = 30.0
DEFAULT_ARGS = ["xor", "--set", "training.max_epochs=100000", "--set", "training.target_loss=0"]
_MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")


def _read(master: int, seconds: float, until: bytes | None = None) -> bytes:
    """Read what the app writes for ``seconds`` (or until ``until`` appears)."""
    data = bytearray()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([master], [], [], min(left, 0.05))
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the app exited
                break
            if not chunk:
                break
            data += chunk
            if until is not None and until in data:
                break
    return bytes(data)


def rows_repainted(output: bytes) -> Counter[int]:
    """Bytes written after each cursor move, by screen row (1-based)."""
    rows: Counter[int] = Counter()
    moves = list(_MOVE.finditer(output))
    for move, following in zip(moves, [*moves[1:], None], strict=True):
        end = following.start() if following else len(output)
        rows[int(move[1])] += end - move.start()
    return rows


def measure(app_args: list[str], columns: int, rows: int, seconds: float) -> tuple[float, bytes, float]:
    """Run the app, press ``c``, and return (bytes per second, the bytes, seconds measured)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tui_backprop", *app_args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        startup = _read(master, 30.0, until=b"Step")
        if b"Step" not in startup:
            raise SystemExit(f"the app did not start: {startup[-500:]!r}")
        _read(master, 1.0)  # let the first screen settle
        os.write(master, b"c")
        started = time.monotonic()
        output = _read(master, seconds)
        elapsed = time.monotonic() - started
    finally:
        os.write(master, b" ")
        time.sleep(0.3)
        os.write(master, b"q")
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=5)
        os.close(master)
    return len(output) / elapsed, output, elapsed


def main() -> int:
    """Measure and print the figure; exit 1 if it is over the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="80x24")
    parser.add_argument("app_args", nargs="*", default=DEFAULT_ARGS)
    args = parser.parse_args()
    columns, rows = (int(part) for part in args.size.split("x"))
    rate, output, elapsed = measure(args.app_args, columns, rows, args.seconds)
    verdict = "ok" if rate / 1024 <= TARGET_KB_S else "OVER TARGET"
    print(f"{args.size}, {' '.join(args.app_args)}, pressed c")
    print(
        f"{len(output)} bytes in {elapsed:.1f} s = {rate / 1024:.1f} KB/s (target <= {TARGET_KB_S:g} KB/s: {verdict})"
    )
    stopped = re.search(rb"(converged|reached \d+ epochs|diverged)", output)
    print(f"the run {'stopped (' + stopped[1].decode() + ')' if stopped else 'was still going'} at the end")
    print("bytes by screen row (the rows that repaint):")
    for row, count in sorted(rows_repainted(output).items()):
        print(f"  row {row:>2}: {count / elapsed / 1024:6.2f} KB/s")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
