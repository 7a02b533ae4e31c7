"""``--serve``: the same debugger as a web page, through Textual's own serving package (textual-serve).

Each browser tab gets its own ``tui-backprop`` process, started with the same scenario and options.
The server binds to 127.0.0.1 unless ``--host`` names another address: a classroom projector
needs no network, and exposing a Python process to a network should be a deliberate choice.
textual-serve is an optional extra (``pip install 'tui-backprop[serve]'``).
"""

from __future__ import annotations

import shlex
import socket
import sys
from collections.abc import Sequence
from typing import Any

LOCAL_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


class ServeUnavailableError(RuntimeError):
    """textual-serve is not installed; the message says how to install it."""


def app_command(app_argv: Sequence[str]) -> str:
    """The shell command that runs one debugger process for a browser tab."""
    return shlex.join([sys.executable, "-m", "tui_backprop", *app_argv])


def public_url(host: str, port: int) -> str:
    """The address to open: a wildcard bind is reached through this machine's name."""
    shown = socket.gethostname() if host in WILDCARD_HOSTS else host
    if ":" in shown:  # an IPv6 literal
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def serve(app_argv: Sequence[str], title: str, host: str = LOCAL_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the debugger on ``host:port`` until interrupted.

    Args:
        app_argv: Arguments for each debugger process (scenario, --set, --keys, ...).
        title: The page title (the scenario's title).
        host: Address to bind; 127.0.0.1 unless the user asked for another.
        port: TCP port.

    Raises:
        ServeUnavailableError: textual-serve is not installed.
    """
    try:
        from textual_serve.server import Server
    except ImportError as error:
        raise ServeUnavailableError(
            "--serve needs textual-serve: pip install 'tui-backprop[serve]' (or pip install textual-serve)"
        ) from error

    url = public_url(host, port)

    class _Server(Server):
        async def on_startup(self, app: Any) -> None:
            # One plain line instead of textual-serve's banner, flushed so scripts can wait for it.
            print(f"tui-backprop: serving {title!r} at {url} (Ctrl+C stops)", flush=True)
            if host not in (LOCAL_HOST, "localhost", "::1"):
                print(f"tui-backprop: bound to {host}: anyone who can reach this machine can open it", flush=True)

    _Server(app_command(app_argv), host=host, port=port, title=f"tui-backprop: {title}", public_url=url).serve()
