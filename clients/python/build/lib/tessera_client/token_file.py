"""UID token files.

A token file holds either the raw token (``u-…`` alone on a line; blank lines and ``#`` comments
allowed) or key=value lines with a ``UID_TOKEN=…`` line (the seed's ``demo-tokens`` form; ``export``
and single or double quotes allowed). Saving replaces only the token and keeps every other line,
the quoting, ``export`` and the line endings. Writes are atomic and durable: a temporary file in the
same directory (mode 0600), fsync, rename over the target, fsync of the directory.

Same format and rules as the ``tessera`` CLI (``packages/cli/src/token-file.store.ts``).
"""

import errno
import os
import re
import tempfile
from typing import Callable, Optional, Tuple

from .errors import TokenFileError

__all__ = ["UidTokenFile", "DEFAULT_TOKEN_KEY", "parse_token_file", "write_file_atomic"]

DEFAULT_TOKEN_KEY = "UID_TOKEN"
FILE_MODE = 0o600

_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9._~+/=-]+$")


def _key_line(key: str):
    return re.compile(
        r"^(\s*(?:export\s+)?" + re.escape(key) + r"\s*=\s*)([\"']?)([^\"'\s]*)\2(\s*(?:#.*)?)$"
    )


def _check_shape(token: str) -> None:
    # A token with a newline or a space would corrupt the file's other lines.
    if not isinstance(token, str) or not _TOKEN_SHAPE.match(token):
        raise TokenFileError("the new token has an unexpected shape", code="TESSERA_TOKEN_INVALID_SHAPE")


def parse_token_file(text: str, source: str, key: str = DEFAULT_TOKEN_KEY) -> Tuple[str, str, Callable[[str], str]]:
    """Parses a token file's text.

    Returns ``(token, form, render)``: ``form`` is ``"raw"`` or ``"key-value"``; ``render(new_token)``
    is the file's content with the token replaced. Raises :class:`TokenFileError` (never quoting
    the content) when no token can be found.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = re.split(r"\r?\n", text)
    pattern = _key_line(key)
    for at, line in enumerate(lines):
        match = pattern.match(line)
        if not match:
            continue
        token = match.group(3)
        if not token:
            raise TokenFileError("%s: the %s= line is empty" % (source, key))

        def render_kv(new_token: str, _at=at, _m=match) -> str:
            _check_shape(new_token)
            out = list(lines)
            out[_at] = _m.group(1) + _m.group(2) + new_token + _m.group(2) + (_m.group(4) or "")
            return newline.join(out)

        return token, "key-value", render_kv

    meaningful = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    if len(meaningful) != 1 or "=" in meaningful[0] or not _TOKEN_SHAPE.match(meaningful[0]):
        raise TokenFileError(
            "%s: expected a single token or a %s=… line (write the token alone in the file, or as %s=u-…)"
            % (source, key, key)
        )

    def render_raw(new_token: str) -> str:
        _check_shape(new_token)
        return new_token + "\n"

    return meaningful[0], "raw", render_raw


def _fsync_dir(directory: str) -> None:
    """fsync a directory so a rename in it is durable (best effort: not supported everywhere)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_file_atomic(path: str, content: str, mode: int = FILE_MODE) -> None:
    """Atomically and durably replaces ``path`` with ``content`` (temp file, fsync, rename, mode)."""
    target = os.path.realpath(path)  # write through a symlink to its target, keeping the link
    directory = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    try:
        try:
            os.fchmod(fd, mode)
            data = content.encode("utf-8")
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


class UidTokenFile(object):
    """A UID token file: :meth:`read` the current token, :meth:`save` a new one durably in the same form."""

    def __init__(self, path: str, key: str = DEFAULT_TOKEN_KEY) -> None:
        self.path = os.fspath(path)
        self.key = key

    def __repr__(self) -> str:
        return "UidTokenFile(%r, key=%r)" % (self.path, self.key)

    def _read_text(self) -> str:
        try:
            with open(self.path, "r", encoding="utf-8", newline="") as f:
                return f.read()
        except FileNotFoundError:
            raise TokenFileError("token file %s does not exist" % self.path, code="TESSERA_TOKEN_FILE_UNREADABLE") from None
        except (OSError, UnicodeDecodeError) as e:
            reason = errno.errorcode.get(getattr(e, "errno", None) or 0, type(e).__name__)
            raise TokenFileError(
                "cannot read token file %s (%s)" % (self.path, reason), code="TESSERA_TOKEN_FILE_UNREADABLE"
            ) from None

    def read(self) -> str:
        """The token in the file. Raises :class:`TokenFileError` when unreadable or holding no token."""
        token, _form, _render = parse_token_file(self._read_text(), self.path, self.key)
        return token

    def form(self) -> str:
        """``"raw"`` or ``"key-value"``."""
        return parse_token_file(self._read_text(), self.path, self.key)[1]

    def save(self, token: str) -> None:
        """Durably replaces the token, keeping the file's form and other lines; mode 0600.

        Refuses to overwrite a file that is not a token file (so a wrong path cannot clobber
        unrelated content). A missing or blank file gets the raw token.
        """
        _check_shape(token)
        existing = None  # type: Optional[str]
        try:
            existing = self._read_text()
        except TokenFileError:
            if os.path.exists(self.path):
                raise
        if existing is None or existing.strip() == "":
            content = token + "\n"
        else:
            content = parse_token_file(existing, self.path, self.key)[2](token)
        try:
            write_file_atomic(self.path, content)
        except OSError as e:
            reason = errno.errorcode.get(e.errno or 0, type(e).__name__)
            raise TokenFileError(
                "cannot write token file %s (%s)" % (self.path, reason), code="TESSERA_TOKEN_FILE_UNWRITABLE"
            ) from None
