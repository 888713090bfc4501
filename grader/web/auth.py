"""Instructors' passwords and the tokens of their sessions.

A password is kept as a scrypt hash (hashlib, the standard library's memory-hard KDF) with a
random salt, in the gradebook's `instructors` table, so that a course on PostgreSQL shares its
logins as it shares its grades. Checking a name that has no password costs the same scrypt as
one that has, so the time of an answer does not tell which names exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.gradebook import Gradebook, GradebookError
from grader.gradebook.database import WRITE
from grader.gradebook.models import Instructor
from grader.reporters.text import visible

N, R, P = 2**14, 8, 1  # scrypt's cost: about 16 MiB and 50 ms a check
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # scrypt reads all of it: a megabyte "password" must not cost the server
_DUMMY = None  # a hash to check against when the name is unknown


def hash_password(password: str, n: int | None = None, r: int = R, p: int = P) -> str:
    n = n or N
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=32)
    return "$".join(["scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=2**26, dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


def valid_name(name: str) -> bool:
    return 0 < len(name) <= 64 and visible(name) == name and name.strip() == name


def set_password(book: Gradebook, name: str, password: str) -> None:
    """Create the instructor `name`, or give them a new password."""
    if not valid_name(name):
        raise GradebookError("web.bad_name", name=visible(name)[:80])
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise GradebookError("web.short_password", min=MIN_PASSWORD, max=MAX_PASSWORD)
    hashed = hash_password(password)
    with Session(book.engine.execution_options(**{WRITE: True})) as s, s.begin():
        row = s.get(Instructor, name)
        if row is None:
            s.add(Instructor(name=name, password_hash=hashed))
        else:
            row.password_hash = hashed


def check_login(book: Gradebook, name: str, password: str) -> bool:
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = hash_password(secrets.token_urlsafe(16))
    if not (valid_name(name) and 0 < len(password) <= MAX_PASSWORD):
        verify_password("x", _DUMMY)
        return False
    with Session(book.engine) as s:
        stored = s.scalar(select(Instructor.password_hash).where(Instructor.name == name))
    ok = verify_password(password, stored or _DUMMY)
    return ok and stored is not None


def instructors(book: Gradebook) -> list[str]:
    with Session(book.engine) as s:
        return list(s.scalars(select(Instructor.name).order_by(Instructor.name)))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: object, b: object) -> bool:
    return isinstance(a, str) and isinstance(b, str) and bool(a) and hmac.compare_digest(a.encode(), b.encode())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
