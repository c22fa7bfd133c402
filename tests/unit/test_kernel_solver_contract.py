"""scikit-learn's own estimator checks on `KernelInterpolator`, in full, for both kernels.

`parametrize_with_checks` runs every check scikit-learn applies to a classifier: input
validation and its messages, fitting on tiny and degenerate data (where the float32
factorization fails and the fit must fall back by itself), pickling, read-only memmaps,
binary and multiclass conventions. Two checks depend on the environment, and both run
here: the DataFrame check needs pandas (pinned in requirements.txt), and the array-API check
needs ``SCIPY_ARRAY_API=1`` set before SciPy is imported, so it runs in a fresh process.
"""

import os
import subprocess
import sys
import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from generalization.kernel_solver import ConditioningWarning, KernelInterpolator

ESTIMATORS = [
    KernelInterpolator(kernel="gaussian", bandwidth=5.0),
    KernelInterpolator(kernel="laplace", bandwidth=10.0),
    KernelInterpolator(kernel="gaussian", bandwidth=5.0, solver="iterative"),
]


@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_checks(estimator, check):
    if "check_array_api_input" in str(check):
        pytest.skip("runs in a fresh process: test_array_api_check_in_a_fresh_process")
    with warnings.catch_warnings():
        # the checks fit 1-feature and constant data: the fallbacks warn, as they should, and
        # the iterative solver cannot interpolate duplicate points with different labels
        warnings.simplefilter("ignore", ConditioningWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_array_api_check_in_a_fresh_process():
    # as scikit-learn yields it for an estimator without array-API support of its own
    script = """
import warnings
from sklearn.utils.estimator_checks import check_array_api_input
from generalization.kernel_solver import KernelInterpolator
warnings.simplefilter("ignore")
for kernel, bandwidth in [("gaussian", 5.0), ("laplace", 10.0)]:
    check_array_api_input(
        "KernelInterpolator",
        KernelInterpolator(kernel=kernel, bandwidth=bandwidth),
        array_namespace="numpy",
        expect_only_array_outputs=False,
    )
print("ok")
"""
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
