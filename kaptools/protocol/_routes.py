"""The routes a course is given by: :class:`kaptools.vocabulary.Route`, re-exported
here so older imports keep working (the public home is :mod:`kaptools.vocabulary`)."""

from __future__ import annotations

from kaptools.vocabulary import Route

__all__ = ["Route"]
