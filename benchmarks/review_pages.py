"""The review server's pages for a class: N students (default 100) x 6 assignments, each a
result shaped like a graded MNIST notebook with a free-text question (a third of the class sent
to review), on SQLite and on a PostgreSQL server started as tests/postgres.py does. Times each
page as the server renders it (Starlette's TestClient, logged in), median of 5.

    .venv/bin/python benchmarks/review_pages.py [N]
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from postgres import PostgresServer, server_bin  # noqa: E402
from review_course import GOOD, NEGATED, PASSWORD, result_of  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from grader.gradebook import Gradebook, RosterRow  # noqa: E402
from grader.web import auth, create_app  # noqa: E402

ASSIGNMENTS = ["mnist_tf", "mnist_mlp", "cnn_basics", "cnn_architectures", "rnn_text", "transfer"]


def fill(book: Gradebook, n: int) -> None:
    ids = [f"2024{i:03d}" for i in range(n)]
    book.import_roster([RosterRow(i, f"学生 {i}", None) for i in ids])
    for a in ASSIGNMENTS:
        for k, student in enumerate(ids):
            sub = book.record_submission(student, a, {"nb.ipynb": f"{a}{student}".encode()})
            r = result_of(student, NEGATED if k % 3 == 0 else GOOD)
            r.assignment = a
            book.record_run(r, sub, options={"seed": 0})
    auth.set_password(book, "sato", PASSWORD)


def timed(client: TestClient, path: str, **params) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        r = client.get(path, params=params)
        times.append(time.perf_counter() - start)
        assert r.status_code == 200, (path, r.status_code)
    return statistics.median(times)


def measure(url: str, n: int) -> None:
    with Gradebook(url) as book:
        start = time.perf_counter()
        fill(book, n)
        print(f"  recorded {n} x {len(ASSIGNMENTS)} runs in {time.perf_counter() - start:.1f} s")
        c = TestClient(create_app(book, "en", hosts=["testserver"]), base_url="http://testserver")
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
        c.post("/login", data={"csrf": csrf, "name": "sato", "password": PASSWORD})
        print(f"  grid ({n} x {len(ASSIGNMENTS)}): {1000 * timed(c, '/'):.0f} ms")
        queue = c.get("/review").text.count('class="review-item"')
        print(f"  review queue ({queue} items): {1000 * timed(c, '/review'):.0f} ms")
        print(f"  a student's report: {1000 * timed(c, '/report', student='2024001', assignment='mnist_tf'):.0f} ms")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite")
        measure(f"sqlite:///{tmp}/course.db", n)
    bindir = server_bin()
    if bindir:
        server = PostgresServer(bindir)
        try:
            server.start()
            print("PostgreSQL")
            measure(server.new_database(), n)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
