"""The same grade() on a Dask cluster: only the scheduler address changes."""

import nbformat
import pytest
from toy import make_toy

from grader.notebook import format as nbf
from grader.pipeline.scheduler import grade_on_cluster

pytestmark = pytest.mark.slow


def test_a_class_grades_on_a_local_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed", reason="the cluster extra (distributed) is not installed")
    sol = make_toy(tmp_path)
    released = nbformat.read(tmp_path / "exercises/toy/toy.ipynb", as_version=4)
    subs = []
    for name, source in {
        "good": "W = np.zeros((3, 2))\nsteps = [1, 10, 100]",
        "bad": "W = np.zeros((2, 3))\nsteps = [1]",
    }.items():
        for cell in released.cells:
            if nbf.grade_id(cell) == "toy_vars":
                cell.source = source
        nbformat.write(released, tmp_path / f"{name}.ipynb")
        subs.append(tmp_path / f"{name}.ipynb")
    (tmp_path / "linked.ipynb").symlink_to(tmp_path / "good.ipynb")  # refused on a worker too, not followed
    subs.append(tmp_path / "linked.ipynb")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        results = grade_on_cluster(
            cluster.scheduler_address, subs, sol, tmp_path / "out", no_sandbox=True, keep_work=True
        )
    by_name = {r.submission: r for r in results}
    assert by_name["good"].score == by_name["good"].max_score == 8
    assert by_name["bad"].score == 5  # calibrated part from the locked cell keeps its points
    assert not by_name["good"].sandbox.get("isolated", True)
    assert (tmp_path / "out" / "good" / "work").is_dir()  # --keep-work reaches the workers
    assert by_name["linked"].score == 0
    assert {c.message for p in by_name["linked"].parts for c in p.checks} == {
        "linked.ipynb is a symbolic link: not read"
    }
