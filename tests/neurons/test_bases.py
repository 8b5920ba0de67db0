import numpy as np
import pytest

from snnlab.neurons.bases import exponential_kernel, raised_cosine_basis


def test_default_bank_shape_range_and_end_peaks():
    basis = raised_cosine_basis()
    assert basis.shape == (8, 10) and basis.dtype == np.float32
    assert basis.min() >= 0.0 and basis.max() <= 1.0
    assert basis[0, 0] == pytest.approx(1.0)  # first bump peaks at lag 1
    assert basis[-1, -1] == pytest.approx(1.0)  # last bump peaks at lag `memory`
    assert (basis.max(axis=1) > 0.4).all()  # every bump is seen on the lag grid


@pytest.mark.parametrize("stretch", ["log", "linear"])
def test_bumps_sum_to_two_between_the_second_and_penultimate_centre(stretch):
    n_basis, memory, c = 6, 200, 1.0
    basis = raised_cosine_basis(n_basis, memory, stretch, log_offset=c)
    lags = np.arange(1, memory + 1)
    warped = np.log(lags + c) if stretch == "log" else lags.astype(float)
    centres = np.linspace(warped[0], warped[-1], n_basis)
    interior = (warped >= centres[1]) & (warped <= centres[-2])
    assert interior.sum() > 20
    np.testing.assert_allclose(basis[:, interior].sum(axis=0), 2.0, atol=1e-5)


def test_log_stretch_widens_bumps_with_lag_and_linear_keeps_them_equal():
    log_peaks = np.argmax(raised_cosine_basis(6, 200, "log"), axis=1)
    lin_peaks = np.argmax(raised_cosine_basis(6, 200, "linear"), axis=1)
    assert np.all(np.diff(np.diff(log_peaks)) > 0)
    assert np.ptp(np.diff(lin_peaks)) <= 1


def test_single_bump_spans_the_memory():
    bump = raised_cosine_basis(1, 10)[0]
    assert bump[0] == pytest.approx(1.0) and bump[-1] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(bump) <= 0)


def test_exponential_kernel():
    b = exponential_kernel(5, tau=2.0)
    np.testing.assert_allclose(b, np.exp(-np.arange(5) / 2.0), rtol=1e-6)
    assert b.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs",
    [{"n_basis": 0}, {"memory": 0}, {"stretch": "cubic"}, {"log_offset": 0.0},
     {"n_basis": 2.5}],
)
def test_raised_cosine_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        raised_cosine_basis(**kwargs)


def test_exponential_kernel_refuses_bad_tau():
    with pytest.raises(ValueError, match="tau"):
        exponential_kernel(10, tau=0.0)
