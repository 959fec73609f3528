"""Progress bars: drawn when asked or when a terminal watches; never with --quiet or
when the output is not a terminal."""

from __future__ import annotations

import io

import pytest

from kaptools import cli
from kaptools.demo import build_demo_database
from kaptools.errors import InvalidInputError
from kaptools.progress import StageBar, progress_bar, watching
from kaptools.screening import screen_cohort, synthetic_screening_frame
from kaptools.store import Store


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_automatic_bars_follow_the_terminal(monkeypatch) -> None:
    """None: a bar when stderr is a terminal, none when it is a pipe or file."""
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert watching(None) is False
    monkeypatch.setattr("sys.stderr", Tty())
    assert watching(None) is True
    assert watching(False) is False and watching(True) is True
    with pytest.raises(InvalidInputError, match="progress"):
        watching("yes")  # type: ignore[arg-type]


def test_a_bar_is_drawn_on_stderr_and_the_items_pass_through(capsys) -> None:
    """progress=True draws tqdm's bar; the iterable's items are unchanged."""
    assert list(progress_bar(range(5), progress=True, desc="work")) == [0, 1, 2, 3, 4]
    assert "work" in capsys.readouterr().err
    assert list(progress_bar(range(3), progress=False, desc="quiet")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_screen_cohort_and_the_demo_take_progress(capsys) -> None:
    """screen_cohort shows its stages, the demo its patients, only when asked."""
    frame = synthetic_screening_frame(50, seed=2)
    quiet = screen_cohort(frame, progress=False)
    assert capsys.readouterr().err == ""
    loud = screen_cohort(frame, progress=True)
    assert "kaptools screen" in capsys.readouterr().err
    assert loud.table.equals(quiet.table)
    build_demo_database(Store.in_memory(), n=2, progress=True)
    assert "demo patients" in capsys.readouterr().err


def test_stage_bar_counts_stages(capsys) -> None:
    """A StageBar advances once per stage and leaves nothing when closed."""
    with StageBar(2, progress=True, desc="stages") as bar:
        bar.advance("one")
        bar.advance("two")
    assert "stages" in capsys.readouterr().err


def test_cli_draws_no_bar_when_quiet_or_not_a_terminal(tmp_path, capsys, monkeypatch) -> None:
    """kaptools screen at a terminal draws a bar; with -q it does not."""
    source = tmp_path / "c.csv"
    synthetic_screening_frame(30, seed=2).to_csv(source, index=False)
    out = tmp_path / "o.csv"
    assert cli.main(["screen", str(source), "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal
    tty = Tty()
    monkeypatch.setattr("sys.stderr", tty)
    assert cli.main(["screen", str(source), "--out", str(out)]) == 0
    assert "kaptools screen" in tty.getvalue()
    quiet = Tty()
    monkeypatch.setattr("sys.stderr", quiet)
    assert cli.main(["screen", str(source), "--out", str(out), "-q"]) == 0
    assert quiet.getvalue() == ""
