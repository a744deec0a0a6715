"""The program's entry point: an interrupt that Python wrapped in another exception is still an interrupt."""

from __future__ import annotations

from hardneg.console import _caused_by_interrupt


def _raised_from(cause: BaseException) -> RuntimeError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("Error calling __set_name__") from inner
    except RuntimeError as outer:
        return outer


def test_an_exception_caused_by_a_keyboard_interrupt_counts_as_one():
    assert _caused_by_interrupt(KeyboardInterrupt())
    assert _caused_by_interrupt(_raised_from(KeyboardInterrupt()))
    assert not _caused_by_interrupt(_raised_from(ValueError("x")))
    looped = RuntimeError("a")
    looped.__context__ = looped  # a cycle in the chain ends the walk
    assert not _caused_by_interrupt(looped)
