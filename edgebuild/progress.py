"""progress: rich progress bars on stderr for the stages that can take more than a few seconds.

Stages report without knowing who is watching:

    with progress.task("calibrating", total=n) as advance:
        for batch in batches:
            ...
            advance()                      # or advance(1, "calibrating (retry 2)")
    with progress.status("compiling the arm64 runner"):
        subprocess.run(...)

Nothing is drawn unless a caller turned bars on for a block with `progress.shown(console)` (the CLI does, with
its stderr console) and that console is a terminal: in CI, in pipes and in library use the calls cost nothing and
print nothing. Bars never go to stdout, which carries the summary. One rich `Progress` display serves every task
open at a time (a --max-drop trial calibrates and evaluates inside the trial's bar); a task's line goes away when
it ends, and the display when the last task ends. Log lines printed on the same console appear above the bars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["Advance", "shown", "status", "task"]

Advance = Callable[..., None]  # advance(n: int = 1, description: str | None = None)


class _Display:
    """The one rich Progress of a `shown` block, started with its first task and stopped after its last."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Progress | None = None
        self.open = 0

    def add(self, description: str, total: int | None) -> TaskID:
        if self.bar is None:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            count = TextColumn("{task.fields[count]}")
            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), count,
                                TimeElapsedColumn(), console=self.console, transient=True)  # fmt: skip
        if self.open == 0:
            self.bar.start()
        self.open += 1
        task_id = self.bar.add_task(description, total=total, count=_count(0, total))
        self.bar.refresh()
        return task_id

    def remove(self, task_id: TaskID) -> None:
        assert self.bar is not None
        self.bar.refresh()  # draw the task's last state (rich redraws on a timer, a short task may never show)
        self.bar.remove_task(task_id)
        self.open -= 1
        if self.open == 0:
            self.bar.stop()


_display: ContextVar[_Display | None] = ContextVar("edgebuild_progress", default=None)


@contextmanager
def shown(console: Console | bool | None = True) -> Iterator[bool]:
    """Draw the bars of every task opened in this block on `console` (True: a new stderr console), if it is a
    terminal; False or None: none. Yields whether bars are drawn."""
    if console is None or console is False:
        yield False
        return
    if console is True:
        from rich.console import Console

        console = Console(stderr=True)
    if not console.is_terminal:
        yield False
        return
    token = _display.set(_Display(console))
    try:
        yield True
    finally:
        _display.reset(token)


def active() -> bool:
    """Whether tasks opened now are drawn."""
    return _display.get() is not None


@contextmanager
def task(description: str, total: int | None = None) -> Iterator[Advance]:
    """A bar for `total` steps (None: unknown, a pulsing bar with a count); yields `advance(n=1,
    description=None)`."""
    display = _display.get()
    if display is None:
        yield _nothing
        return
    task_id = display.add(description, total)
    bar = display.bar
    assert bar is not None

    done = 0

    def advance(n: int = 1, description: str | None = None) -> None:
        nonlocal done
        done += n
        bar.update(task_id, advance=n, description=description, count=_count(done, total))

    try:
        yield advance
    finally:
        display.remove(task_id)


@contextmanager
def status(description: str) -> Iterator[None]:
    """A spinner for one step whose progress cannot be measured (a subprocess)."""
    with task(description):
        yield


def _count(done: int, total: int | None) -> str:
    """ "12/200"; a task of unknown length shows how many steps it did, a spinner (`status`) nothing."""
    if total is not None:
        return f"{done}/{total}"
    return str(done) if done else ""


def _nothing(n: int = 1, description: str | None = None) -> None:
    pass
