"""The package's front door: __all__ lists exactly the public names, and each one exists."""

from __future__ import annotations

import kaptools


def test_all_names_exist_and_are_unique() -> None:
    """Every name in __all__ is importable from kaptools and listed once."""
    assert len(kaptools.__all__) == len(set(kaptools.__all__))
    for name in kaptools.__all__:
        assert hasattr(kaptools, name), name


def test_every_public_attribute_is_in_all() -> None:
    """No public class or function is reachable from kaptools without being in __all__."""
    public = {
        n
        for n, v in vars(kaptools).items()
        if not n.startswith("_") and (isinstance(v, type) or callable(v))
    }
    assert public <= set(kaptools.__all__), public - set(kaptools.__all__)


def test_domain_logic_does_not_import_widgets() -> None:
    """Importing kaptools pulls in neither ipywidgets nor plotly (ui → logic, never back)."""
    import subprocess
    import sys

    code = (
        "import sys, kaptools; bad = [m for m in ('ipywidgets', 'plotly') if m in sys.modules];"
        " print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
