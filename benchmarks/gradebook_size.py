"""The gradebook's cost per graded submission: database bytes and time to record, for 100
MNIST results shaped like real ones (3 parts, a 100-point accuracy curve, timings, sandbox
limits), on SQLite and on a PostgreSQL server started as tests/postgres.py does.

    .venv/bin/python benchmarks/gradebook_size.py [N]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from postgres import PostgresServer, server_bin  # noqa: E402

from grader.gradebook import Gradebook, RosterRow  # noqa: E402
from grader.gradebook.database import make_engine  # noqa: E402
from grader.results import CheckResult, PartResult, Result, Status  # noqa: E402

LIMITS = {"cell_timeout_s": 20, "notebook_timeout_s": 90, "memory_bytes": 1610612736, "max_tasks": 512,
          "cpu_seconds": 1800, "file_size_bytes": 67108864, "open_files": 1024, "tmp_bytes": 67108864,
          "work_bytes": 67108864, "output_bytes": 16777216, "copy_back_bytes": 50331648,
          "copy_back_files": 4096, "copy_back_s": 60.0}  # fmt: skip


def result(student: str, rng: random.Random) -> Result:
    shapes = []
    for name, shape in (("x", [None, 784]), ("d", [None, 10]), ("W", [784, 10]), ("b", [10])):
        ok = rng.random() > 0.1
        got = shape if ok else [1]
        shapes.append(CheckResult(
            name, Status.PASS if ok else Status.FAIL, 1.0 if ok else 0.0, 1.0,
            message=f"{name} has shape {got}" + ("" if ok else f", expected {shape}"),
            expected=shape, got=got, message_key="shape.ok" if ok else "shape.wrong",
            message_args={"name": name, "expected": shape, "got": got},
            hint="" if ok else "one bias per class", hints={} if ok else {"en": "one bias per class", "ja": "クラスごとにバイアス 1 つです"},
        ))  # fmt: skip
    accuracy = round(rng.uniform(0.8, 0.93), 4)
    ok = accuracy >= 0.8689
    acc = CheckResult(
        "holdout accuracy", Status.PASS if ok else Status.FAIL, 6.0 if ok else 0.0, 6.0,
        message=f"accuracy on data you never saw: {accuracy} (needed >= 0.8689)", expected=">= 0.8689", got=accuracy,
        message_key="accuracy.ok" if ok else "accuracy.low",
        message_args={"name": "holdout accuracy", "expected": ">= 0.8689", "got": accuracy, "threshold": ">= 0.8689", "mean": 0.8946},
    )  # fmt: skip
    curve = [min(1.0, 0.39 + 0.5 * (1 - 0.97**i) + rng.gauss(0, 0.01)) for i in range(100)]
    model = CheckResult("model accuracy", Status.PASS, 2.0, 2.0, message=f"model accuracy {accuracy}",
                        message_key="metric.ok", message_args={"name": "model accuracy", "got": accuracy, "threshold": 0.85})  # fmt: skip
    nb = "mnist_1layer.ipynb"
    parts = [
        PartResult.from_checks("mnist1_shapes", "Placeholders and variables", shapes, notebook=nb, timings={"cells_s": 0.015},
                               titles={"en": "Placeholders and variables", "ja": "プレースホルダーと変数"}),
        PartResult.from_checks("mnist1_accuracy", "Trained model's accuracy", [acc], notebook=nb, timings={"cells_s": 0.015},
                               curves={"test accuracy": curve}, titles={"en": "Trained model's accuracy", "ja": "学習したモデルの正解率"}),
        PartResult.from_checks("mnist1_model", "A saved Keras model", [model], notebook=nb, timings={"cells_s": 0.015}),
    ]  # fmt: skip
    timings = {k: round(rng.uniform(0.01, 5), 3) for k in ("kernel_start_s", "seed_cell_s", "student_cells_s",
               "export_cells_s", "retrain_cells_s", "sandbox_total_s", "copy_back_s", "score_s")}  # fmt: skip
    return Result(
        student, "mnist_tf", parts=parts, timings={"notebooks": {nb: timings}, "total_s": 10.5},
        resources={"wall_s": 10.5, "cpu_s": 9.2, "peak_memory_bytes": 723554304},
        sandbox={"name": "bubblewrap", "isolated": True, "mode": "root-setpriv", "limits": LIMITS, "cgroup": "v1", "caveats": []},
        notebooks=[{"name": nb, "file": nb, "status": "finished"}],
        plots=[{"notebook": "mnist_1layer", "cell": "mnist1_plot", "path": "mnist_1layer-1.png"}],
        metrics={"mnist1_holdout_accuracy": accuracy},
    )  # fmt: skip


def record(url: str, n: int) -> float:
    """Seconds to record n submissions and their runs, each in its own transactions, as grading does."""
    rng = random.Random(0)
    with Gradebook(url) as book:
        book.import_roster([RosterRow(f"2024{i:03d}", f"学生 {i}", f"s{i}@example.ac.jp") for i in range(n)])
        start = time.perf_counter()
        for i in range(n):
            student = f"2024{i:03d}"
            notebook = rng.randbytes(8000)  # stands for the notebook's bytes: only their hash is stored
            sub = book.record_submission(student, "mnist_tf", {"mnist_1layer.ipynb": notebook})
            book.record_run(result(student, rng), sub, options={"seed": 0, "lang": "ja"}, result_path=f"out/{student}")
        return time.perf_counter() - start


def main(n: int = 100) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "course.db"
        Gradebook(f"sqlite:///{path}").close()
        empty = path.stat().st_size
        seconds = record(f"sqlite:///{path}", n)
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        size = path.stat().st_size
        print(f"sqlite:     {n} runs recorded in {seconds:.2f} s ({1000 * seconds / n:.1f} ms each); "
              f"file {size / 1024:.0f} KiB = {size / n / 1024:.1f} KiB per graded submission "
              f"({(size - empty) / n / 1024:.1f} KiB over the empty schema's {empty / 1024:.0f} KiB)")  # fmt: skip
    server = PostgresServer(server_bin())
    server.start()
    try:
        url = server.new_database()
        seconds = record(url, n)
        engine = make_engine(url)
        with engine.connect() as conn:
            size = conn.execute(sa.text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
                "WHERE s.nspname = current_schema() AND c.relkind = 'r'"
            )).scalar()  # fmt: skip
        engine.dispose()
        print(f"postgresql: {n} runs recorded in {seconds:.2f} s ({1000 * seconds / n:.1f} ms each); "
              f"tables with indexes and TOAST {size / 1024:.0f} KiB = {size / n / 1024:.1f} KiB per graded submission")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
