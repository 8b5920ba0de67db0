"""PDE tasks: collocation grids, stencils, residuals of the exact solutions, option checks."""

import numpy as np
import pytest

from snnlab.data import load_task
from snnlab.data.registry import TASK_KINDS, tasks_of_kind


def test_registered_as_pde_tasks():
    assert {"pde-poisson1d", "pde-heat1d", "pde-burgers1d"} <= set(tasks_of_kind("pde"))
    assert TASK_KINDS["pde-heat1d"] == "pde"


@pytest.mark.parametrize("solution", ["sin", "multiscale"])
def test_poisson_exact_solution_has_small_residual_and_zero_boundary(solution):
    h = 1 / 16 if solution == "sin" else 1 / 128
    task = load_task("pde-poisson1d", solution=solution, fd_step=h, n_collocation=50)
    problem = task.problem
    x = task.train.x
    assert task.kind == "pde" and x.shape == (50, 1)
    assert x.min() == pytest.approx(h) and x.max() == pytest.approx(1 - h)
    stencil = problem.stencil(x)
    assert stencil.shape == (150, 1) and 0.0 <= stencil.min() and stencil.max() <= 1.0
    u = problem.exact(stencil).reshape(1, 50, 3)
    residual = problem.residual(u, x)
    forcing_scale = problem.scale
    assert np.sqrt(np.mean(residual**2)) / forcing_scale < 0.02  # O((k h)^2) discretisation
    loss = problem.loss(u, problem.exact(problem.boundary_points)[None], x)
    assert loss.shape == (1,) and loss[0] < 4e-4
    np.testing.assert_allclose(problem.exact(problem.boundary_points), 0.0, atol=1e-12)
    # a wrong solution has a large loss
    assert problem.loss(2 * u, np.zeros((1, 2)), x)[0] > 0.5
    np.testing.assert_allclose(task.test.y[:, 0], problem.exact(task.test.x), atol=1e-6)


def test_heat_exact_solution_satisfies_the_equation_and_initial_values():
    task = load_task("pde-heat1d", kappa=0.2, n_collocation=8, n_test=11)
    problem = task.problem
    x = task.train.x
    assert x.shape == (64, 2) and task.test.x.shape == (121, 2)
    u = problem.exact(problem.stencil(x)).reshape(1, 64, 5)
    assert np.sqrt(np.mean(problem.residual(u, x) ** 2)) / problem.scale < 0.02
    boundary = problem.boundary_points
    np.testing.assert_allclose(problem.exact(boundary), problem.boundary_values, atol=1e-6)
    initial = boundary[:, 1] == 0
    np.testing.assert_allclose(problem.exact(boundary[initial]),
                               np.sin(np.pi * boundary[initial, 0]), atol=1e-6)
    # the heat loss penalises a solution that does not decay
    still = np.sin(np.pi * problem.stencil(x)[:, 0]).reshape(1, 64, 5)
    assert problem.loss(still, problem.boundary_values[None], x)[0] > 0.1


@pytest.mark.parametrize("nu", [0.02, 0.05, 1.0])
def test_burgers_reference_satisfies_the_equation_and_initial_values(nu):
    task = load_task("pde-burgers1d", nu=nu, n_collocation=8, fd_step=1 / 256, n_test=11)
    problem = task.problem
    x = task.train.x
    u = problem.exact(problem.stencil(x)).reshape(1, 64, 5)
    # with a fine FD step the residual of the reference is discretisation error only
    assert np.sqrt(np.mean(problem.residual(u, x) ** 2)) / problem.scale < 1e-3
    np.testing.assert_allclose(problem.exact(problem.boundary_points), problem.boundary_values,
                               atol=1e-6)
    if nu <= 0.05:  # (at nu = 1 diffusion wins and u is nearly the heat solution)
        # the nonlinear term matters: the heat solution with kappa = nu is not a Burgers one
        heat = load_task("pde-heat1d", kappa=nu, n_collocation=8, fd_step=1 / 256).problem
        u_heat = heat.exact(problem.stencil(x)).reshape(1, 64, 5)
        assert np.sqrt(np.mean(problem.residual(u_heat, x) ** 2)) / problem.scale > 0.05


def test_burgers_front_steepens_towards_the_right_wall_as_viscosity_falls():
    x = np.linspace(0.0, 1.0, 401)
    t = np.full_like(x, 0.8)
    steep = {nu: np.abs(np.diff(load_task("pde-burgers1d", nu=nu, n_collocation=2).problem
                                .exact(np.column_stack([x, t])))).max() * 400
             for nu in (0.02, 0.2)}
    assert steep[0.02] > 3 * steep[0.2]


@pytest.mark.parametrize("name, options, word", [
    ("pde-poisson1d", {"solution": "cosine"}, "solution"),
    ("pde-poisson1d", {"fd_step": 0.5}, "fd_step"),
    ("pde-poisson1d", {"n_collocation": 1}, "n_collocation"),
    ("pde-heat1d", {"kappa": -1.0}, "kappa"),
    ("pde-heat1d", {"boundary_weight": -1.0}, "boundary_weight"),
    ("pde-burgers1d", {"nu": 0.01}, "nu"),
])
def test_bad_options_are_refused(name, options, word):
    with pytest.raises(ValueError, match=word):
        load_task(name, **options)
