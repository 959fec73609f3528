"""kaptools.server.transport without a Voilà server: the static version and the handler
that serves Voilà's static files under it (cached a year only while they are current)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from tornado.testing import AsyncHTTPTestCase
from tornado.web import Application

from kaptools.server.transport import (
    IMMUTABLE,
    AssetCacheHeaders,
    CachedGzip,
    VersionedStaticFileHandler,
    is_versioned_asset,
    static_version,
)
from tests.async_thread import OwnThread


def _tree(root: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return str(root)


def test_the_version_changes_with_any_served_file(tmp_path: Path) -> None:
    """Any changed, added, removed or renamed file gives another version; a file hidden
    by the same name in an earlier directory (not served) does not count."""
    a = _tree(tmp_path / "a", {"voila.js": "main", "1187.voila.js": "chunk"})
    b = _tree(tmp_path / "b", {"voila.js": "shadowed", "fonts/x.woff": "font"})
    v0 = static_version([a, b])
    assert len(v0) == 16 and int(v0, 16) >= 0
    assert static_version([a, b]) == v0  # deterministic
    (tmp_path / "b" / "voila.js").write_text("shadowed, changed")  # never served
    assert static_version([a, b]) == v0
    changes = [
        lambda: (tmp_path / "a" / "1187.voila.js").write_text("chunk 2"),
        lambda: (tmp_path / "a" / "9.voila.js").write_text("new chunk"),
        lambda: (tmp_path / "b" / "fonts" / "x.woff").unlink(),
        lambda: (tmp_path / "a" / "1187.voila.js").rename(tmp_path / "a" / "1188.voila.js"),
    ]
    seen = {v0}
    for change in changes:
        change()
        v = static_version([a, b])
        assert v not in seen
        seen.add(v)


class VersionedStaticTest(OwnThread, AsyncHTTPTestCase):
    """The handler as the server mounts it, with the server's transforms."""

    version = "0123456789abcdef"

    def get_app(self) -> Application:
        self.root = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.root)
        _tree(self.root, {"voila.js": "console.log('main');" * 100, "7.voila.js": "chunk"})
        taken_at = time.time()
        old = taken_at - 100
        for f in self.root.iterdir():
            os.utime(f, (old, old))
        self.taken_at = taken_at
        return Application(
            [
                (
                    r"/voila/static/v/([0-9a-f]{16})/(.*)",
                    VersionedStaticFileHandler,
                    {"paths": [str(self.root)], "version": self.version, "taken_at": taken_at},
                )
            ],
            transforms=[AssetCacheHeaders, CachedGzip],
        )

    def test_current_version_is_cached_a_year(self) -> None:
        r = self.fetch(f"/voila/static/v/{self.version}/voila.js")
        assert r.code == 200
        assert r.headers["Cache-Control"] == IMMUTABLE
        assert r.body == (self.root / "voila.js").read_bytes()
        etag = self.fetch(f"/voila/static/v/{self.version}/7.voila.js").headers["Etag"]
        again = self.fetch(
            f"/voila/static/v/{self.version}/7.voila.js", headers={"If-None-Match": etag}
        )
        assert again.code == 304
        assert again.headers["Cache-Control"] == IMMUTABLE

    def test_another_version_is_served_but_revalidated(self) -> None:
        """A page served before a restart still gets the files, never cached long."""
        r = self.fetch("/voila/static/v/ffffffffffffffff/voila.js")
        assert r.code == 200
        assert r.headers["Cache-Control"] == "no-cache"
        assert r.body == (self.root / "voila.js").read_bytes()

    def test_a_file_changed_after_the_version_was_taken_is_revalidated(self) -> None:
        """An upgrade under a running server: the new file is not cached under the old
        version's URL."""
        chunk = self.root / "7.voila.js"
        chunk.write_text("chunk, upgraded")
        later = self.taken_at + 5
        os.utime(chunk, (later, later))
        r = self.fetch(f"/voila/static/v/{self.version}/7.voila.js")
        assert r.code == 200 and r.body == b"chunk, upgraded"
        assert r.headers["Cache-Control"] == "no-cache"
        assert (
            self.fetch(f"/voila/static/v/{self.version}/voila.js").headers["Cache-Control"]
            == IMMUTABLE
        )

    def test_missing_files_and_escapes_are_not_found(self) -> None:
        assert self.fetch(f"/voila/static/v/{self.version}/nope.js").code == 404
        assert self.fetch(f"/voila/static/v/{self.version}/../../etc/passwd").code in (403, 404)


@pytest.mark.parametrize(
    "path",
    [
        "/voila/static/v/0123456789abcdef/voila.js",
        "/voila/static/v/0123456789abcdef/1187.voila.js",
        "/voila/static/v/0123456789abcdef/fontawesome/css/all.min.css",
    ],
)
def test_versioned_static_urls_count_as_versioned(path: str) -> None:
    assert is_versioned_asset(path)
