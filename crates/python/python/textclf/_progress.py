"""Showing a command's progress in Python: a tqdm bar (in a notebook, or on a terminal),
plain lines otherwise (never carriage returns in a log), or a callback of your own."""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import Any, Callable, List, Optional, Union

ProgressArg = Union[None, bool, str, Callable[[str, Any, Any, Any], Any]]


class TextclfWarning(UserWarning):
    """A warning textclf printed (the data check's counted problems, a loaded model's notes)."""


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _tqdm_class(kind: str) -> Optional[Any]:
    try:
        if kind == "notebook":
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm

            return tqdm
        from tqdm import tqdm

        return tqdm
    except Exception:
        return None


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _caller_level() -> int:
    """The `stacklevel` that points a warning at the first frame outside this package."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE:
        frame = frame.f_back
        level += 1
    return level


class Reporter:
    """Receives a command's events (see ``textclf._native.run``) and shows them."""

    def __init__(self, progress: ProgressArg = None, quiet: bool = False) -> None:
        self.quiet = quiet or progress is False
        self.callback = progress if callable(progress) else None
        self.texts: List[str] = []
        self.bar: Any = None
        self.tqdm: Any = None
        if not self.quiet and self.callback is None and progress in (None, True, "tqdm"):
            if _in_notebook():
                self.tqdm = _tqdm_class("notebook")
            elif progress == "tqdm" or sys.stderr.isatty():
                self.tqdm = _tqdm_class("terminal")
        # Plain lines: the last position printed, and when.
        self._line = (0, 0.0)
        self._bar_info = ("", 0)

    def __call__(self, kind: str, a: Any = None, b: Any = None, c: Any = None) -> None:
        if kind == "text":
            self.texts.append(a)
        if kind == "warning":
            warnings.warn(a, TextclfWarning, stacklevel=_caller_level())
            return
        if self.callback is not None:
            self.callback(kind, a, b, c)
            return
        if self.quiet:
            return
        if kind == "note":
            self._print(a)
        elif kind == "bar_start":
            self._start(a, b, c)
        elif kind == "bar_update":
            self._update(a, b)
        elif kind == "bar_end":
            self.close()

    def _print(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write("  " + line, file=sys.stderr)
        else:
            print("  " + line, file=sys.stderr, flush=True)

    def _start(self, prefix: str, total: int, pos: int) -> None:
        self.close()
        if self.tqdm is not None:
            self.bar = self.tqdm(total=total, initial=pos, desc=prefix, unit="batch", file=sys.stderr, leave=True)
        else:
            self._bar_info = (prefix, total)
            self._line = (pos, time.monotonic())
            print(f"  {prefix}: {pos}/{total} batches", file=sys.stderr, flush=True)

    def _update(self, pos: int, msg: str) -> None:
        if self.bar is not None:
            self.bar.update(pos - self.bar.n)
            self.bar.set_postfix_str(msg, refresh=False)
            return
        prefix, total = self._bar_info
        last, t = self._line
        step = max(1, total // 10)
        if pos >= total or pos - last >= step or time.monotonic() - t > 30:
            self._line = (pos, time.monotonic())
            print(f"  {prefix}: {pos}/{total} batches, {msg}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
