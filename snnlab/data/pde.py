"""Physics-informed PDE tasks: a model ``u(x)`` is trained on residuals at collocation points.

Derivatives come from central finite differences of the model's own values at stencil points,
so a model needs only to be evaluated (no autodiff):

- ``pde-poisson1d``: ``-u'' = f`` on [0, 1], ``u(0) = u(1) = 0``, with ``u`` = ``"sin"``:
  ``sin(pi x)``, or ``"multiscale"``: ``sin(2 pi x) + 0.1 sin(16 pi x)``; ``f = -u''``.
  Residual ``r = -(u(x+h) - 2u(x) + u(x-h)) / h**2 - f(x)``.
- ``pde-heat1d``: ``u_t = kappa u_xx`` on ``(x, t)`` in [0, 1]², ``u(x, 0) = sin(pi x)``,
  ``u(0, t) = u(1, t) = 0``; exact ``u = exp(-kappa pi² t) sin(pi x)``. Residual
  ``r = (u(x, t+k) - u(x, t-k)) / 2k - kappa (u(x+h, t) - 2u(x, t) + u(x-h, t)) / h**2``.
- ``pde-burgers1d``: viscous Burgers ``u_t + u u_x = nu u_xx`` on [0, 1]² with the same initial
  and boundary values. Residual ``r = u_t + u (u(x+h) - u(x-h)) / 2h - nu u_xx``. Reference
  solution exact through the Cole-Hopf transform ``u = -2 nu phi_x / phi``, ``phi`` the heat
  solution with ``phi_x = 0`` at the walls and ``phi(x, 0) = exp(-(1 - cos(pi x)) / (2 pi nu))``:
  ``phi = sum_n a_n exp(-nu n² pi² t) cos(n pi x)`` with ``a_0 = I_0(z) e^{-z}``,
  ``a_n = 2 I_n(z) e^{-z}``, ``z = 1 / (2 pi nu)`` (modified Bessel functions), so
  ``u = 2 nu pi sum_n n a_n e^{-nu n² pi² t} sin(n pi x) / phi``. The front steepens towards
  ``x = 1`` as ``nu`` falls; ``nu >= 0.02`` keeps the series accurate (near ``x = 1`` ``phi`` is
  ``e^{-1 / (pi nu)}`` of its peak, which float64 sums lose below that), so the classic
  shock-forming ``nu = 0.01 / pi`` is out of its reach.

Loss of a model (what :meth:`PDEProblem.loss` computes from the model's values)::

    L = residual_weight * mean(r² / scale²) + boundary_weight * mean((u_b - g_b)²)

over a batch of collocation points and all boundary (and initial) points; ``scale`` is the
root-mean-square forcing (Poisson), ``kappa pi²`` (heat) or ``pi / 2 + nu pi²`` (Burgers: the
size of ``u u_x`` and ``nu u_xx`` at ``t = 0``) so both terms start of order one.

Splits: ``train.x`` holds the collocation points, a uniform grid over ``[h, 1 - h]`` per axis
so that every stencil stays in the closed domain; ``test.x`` a fine grid of the closed domain.
``y`` is the exact solution at those points.

The FD step ``h`` is an option of its own, not the grid spacing: a model whose output is a
staircase in ``x`` (a spiking network) has its steps amplified by ``4 / h**2`` in a second
difference, so a step of 1/16 (discretisation error ``(pi h)**2 / 12`` = 0.3 % for ``sin(pi x)``)
suits it better than a fine one. The multi-scale solution needs ``h <= 1/64`` to resolve its
``sin(16 pi x)`` part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnlab.data.task import Split, Task

POISSON_SOLUTIONS = ("sin", "multiscale")


def _poisson_exact(solution: str, x: np.ndarray) -> np.ndarray:
    if solution == "sin":
        return np.sin(np.pi * x)
    return np.sin(2 * np.pi * x) + 0.1 * np.sin(16 * np.pi * x)


def _poisson_forcing(solution: str, x: np.ndarray) -> np.ndarray:
    if solution == "sin":
        return np.pi**2 * np.sin(np.pi * x)
    return (2 * np.pi) ** 2 * np.sin(2 * np.pi * x) + 0.1 * (16 * np.pi) ** 2 * np.sin(
        16 * np.pi * x
    )


@dataclass(frozen=True)
class PDEProblem:
    """What a PDE task's model is trained against (see the module docstring).

    name: ``"poisson1d"``, ``"heat1d"`` or ``"burgers1d"``. steps: ``(d,)`` FD step per input
    dimension.
    boundary_points: ``(n_b, d)`` float32 points with prescribed values ``boundary_values``
    ``(n_b,)``. residual_weight, boundary_weight: weights of the two loss terms. scale: residual
    normalisation. options: ``solution`` (Poisson), ``kappa`` (heat) or ``nu`` (Burgers).
    """

    name: str
    steps: tuple
    boundary_points: np.ndarray
    boundary_values: np.ndarray
    residual_weight: float
    boundary_weight: float
    scale: float
    options: dict

    @property
    def n_stencil(self) -> int:
        """Points per collocation point: 3 (Poisson) or 5 (heat, Burgers)."""
        return 3 if self.name == "poisson1d" else 5

    def stencil(self, x: np.ndarray) -> np.ndarray:
        """``(B * S, d)`` float32 stencil points of collocation points ``x`` ``(B, d)``.

        Poisson: ``x, x - h, x + h``. Heat, Burgers: ``(x, t), (x -+ h, t), (x, t -+ k)``.
        """
        x = np.asarray(x, dtype=np.float64)
        offsets = [np.zeros(x.shape[1])]
        for dim, h in enumerate(self.steps):
            for sign in (-1.0, 1.0):
                e = np.zeros(x.shape[1])
                e[dim] = sign * h
                offsets.append(e)
        points = x[:, None, :] + np.array(offsets)[None, :, :]
        return points.reshape(-1, x.shape[1]).astype(np.float32)

    def residual(self, u: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Residuals ``(..., B)`` from stencil values ``u`` ``(..., B, S)`` at points ``x``."""
        u = np.asarray(u, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        h = self.steps[0]
        u_xx = (u[..., 1] - 2.0 * u[..., 0] + u[..., 2]) / h**2
        if self.name == "poisson1d":
            return -u_xx - _poisson_forcing(self.options["solution"], x[:, 0])
        k = self.steps[1]
        u_t = (u[..., 4] - u[..., 3]) / (2.0 * k)
        if self.name == "heat1d":
            return u_t - self.options["kappa"] * u_xx
        u_x = (u[..., 2] - u[..., 1]) / (2.0 * h)
        return u_t + u[..., 0] * u_x - self.options["nu"] * u_xx

    def loss(self, u_stencil: np.ndarray, u_boundary: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Loss ``(...,)`` from stencil values ``(..., B, S)`` and boundary values ``(..., n_b)``."""
        r = self.residual(u_stencil, x) / self.scale
        b = np.asarray(u_boundary, dtype=np.float64) - self.boundary_values
        return self.residual_weight * np.mean(r**2, axis=-1) + self.boundary_weight * np.mean(
            b**2, axis=-1
        )

    def exact(self, x: np.ndarray) -> np.ndarray:
        """The exact solution ``(n,)`` at points ``x`` ``(n, d)``."""
        x = np.asarray(x, dtype=np.float64)
        if self.name == "poisson1d":
            return _poisson_exact(self.options["solution"], x[:, 0])
        if self.name == "burgers1d":
            return burgers_exact(self.options["nu"], x[:, 0], x[:, 1])
        return np.exp(-self.options["kappa"] * np.pi**2 * x[:, 1]) * np.sin(np.pi * x[:, 0])


def burgers_exact(nu: float, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cole-Hopf solution ``(n,)`` of Burgers with ``u(x, 0) = sin(pi x)`` and zero walls on
    [0, 1] at points ``x``, ``t`` ``(n,)`` (see the module docstring).

    The series keeps every term with ``2 I_n(z) e^{-z}`` above 1e-17 of ``a_0``: Bessel terms
    fall fast once ``n`` is several times ``sqrt(z)``.
    """
    from scipy.special import ive

    z = 1.0 / (2.0 * np.pi * nu)
    n = np.arange(1, int(20 + 10 * np.sqrt(z)) + 1)
    a = 2.0 * ive(n, z)
    keep = a > 1e-17 * ive(0, z)
    n, a = n[keep], a[keep]
    x = np.asarray(x, dtype=np.float64)[:, None]
    t = np.asarray(t, dtype=np.float64)[:, None]
    decay = a * np.exp(-nu * n**2 * np.pi**2 * t)
    phi = ive(0, z) + np.sum(decay * np.cos(n * np.pi * x), axis=1)
    return 2.0 * nu * np.pi * np.sum(n * decay * np.sin(n * np.pi * x), axis=1) / phi


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_step(value) -> None:
    if not (isinstance(value, (int, float)) and 0 < value <= 0.25):
        raise ValueError(f"fd_step must be a number in (0, 0.25], got {value!r}")


def _check_weight(name: str, value) -> None:
    if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _column(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)[:, None]


def load_pde_poisson1d(
    *,
    solution: str = "sin",
    n_collocation: int = 64,
    fd_step: float = 1.0 / 16.0,
    n_test: int = 1001,
    residual_weight: float = 1.0,
    boundary_weight: float = 10.0,
) -> Task:
    """Poisson ``-u'' = f`` on [0, 1] with zero Dirichlet values (see the module docstring).

    n_collocation: collocation points (uniform over ``[fd_step, 1 - fd_step]``). fd_step: the
    FD step ``h`` in (0, 0.25]. n_test: fine-grid points of the test split.
    """
    if solution not in POISSON_SOLUTIONS:
        raise ValueError(f"solution must be one of {POISSON_SOLUTIONS}, got {solution!r}")
    _check_int("n_collocation", n_collocation, 2)
    _check_step(fd_step)
    _check_int("n_test", n_test, 2)
    _check_weight("residual_weight", residual_weight)
    _check_weight("boundary_weight", boundary_weight)
    h = float(fd_step)
    x_train = np.linspace(h, 1.0 - h, n_collocation)
    x_test = np.linspace(0.0, 1.0, n_test)
    fine = np.linspace(0.0, 1.0, 1001)
    problem = PDEProblem(
        name="poisson1d",
        steps=(h,),
        boundary_points=np.array([[0.0], [1.0]], dtype=np.float32),
        boundary_values=np.zeros(2),
        residual_weight=float(residual_weight),
        boundary_weight=float(boundary_weight),
        scale=float(np.sqrt(np.mean(_poisson_forcing(solution, fine) ** 2))),
        options={"solution": solution},
    )
    return Task(
        name="pde-poisson1d",
        kind="pde",
        train=Split(x=_column(x_train), y=_column(problem.exact(x_train[:, None]))),
        test=Split(x=_column(x_test), y=_column(problem.exact(x_test[:, None]))),
        n_inputs=1,
        n_outputs=1,
        n_steps=1,
        dt=1.0,
        options={
            "solution": solution,
            "n_collocation": int(n_collocation),
            "fd_step": h,
            "n_test": int(n_test),
            "residual_weight": residual_weight,
            "boundary_weight": boundary_weight,
        },
        problem=problem,
    )


def _space_time_task(name: str, problem_name: str, options: dict, scale: float, *,
                     n_collocation: int, fd_step: float, n_test: int, residual_weight: float,
                     boundary_weight: float) -> Task:
    """A task on ``(x, t)`` in [0, 1]² with ``u(x, 0) = sin(pi x)`` and zero walls: the
    collocation grid over ``[h, 1 - h]²``, boundary points (``n_collocation + 2`` evenly spaced
    times on each wall and as many x at ``t = 0``) and the fine test grid."""
    _check_int("n_collocation", n_collocation, 2)
    _check_step(fd_step)
    _check_int("n_test", n_test, 2)
    _check_weight("residual_weight", residual_weight)
    _check_weight("boundary_weight", boundary_weight)
    h = float(fd_step)
    inner = np.linspace(h, 1.0 - h, n_collocation)
    grid = np.linspace(0.0, 1.0, n_collocation + 2)
    xx, tt = np.meshgrid(inner, inner, indexing="ij")
    x_train = np.column_stack([xx.ravel(), tt.ravel()])
    walls = [np.column_stack([np.full_like(grid, side), grid]) for side in (0.0, 1.0)]
    initial = np.column_stack([grid[1:-1], np.zeros(len(grid) - 2)])
    boundary = np.vstack([*walls, initial])
    fine = np.linspace(0.0, 1.0, n_test)
    fx, ft = np.meshgrid(fine, fine, indexing="ij")
    x_test = np.column_stack([fx.ravel(), ft.ravel()])
    problem = PDEProblem(
        name=problem_name,
        steps=(h, h),
        boundary_points=boundary.astype(np.float32),
        boundary_values=np.concatenate(
            [np.zeros(2 * len(grid)), np.sin(np.pi * grid[1:-1])]
        ),
        residual_weight=float(residual_weight),
        boundary_weight=float(boundary_weight),
        scale=float(scale),
        options={key: float(value) for key, value in options.items()},
    )

    def split(x):
        return Split(x=x.astype(np.float32), y=_column(problem.exact(x)))

    return Task(
        name=name,
        kind="pde",
        train=split(x_train),
        test=split(x_test),
        n_inputs=2,
        n_outputs=1,
        n_steps=1,
        dt=1.0,
        options={
            **options,
            "n_collocation": int(n_collocation),
            "fd_step": h,
            "n_test": int(n_test),
            "residual_weight": residual_weight,
            "boundary_weight": boundary_weight,
        },
        problem=problem,
    )


def load_pde_heat1d(
    *,
    kappa: float = 0.1,
    n_collocation: int = 16,
    fd_step: float = 1.0 / 16.0,
    n_test: int = 101,
    residual_weight: float = 1.0,
    boundary_weight: float = 10.0,
) -> Task:
    """Heat equation ``u_t = kappa u_xx`` on [0, 1]² (see the module docstring).

    n_collocation: collocation points per axis (a grid over ``[h, 1 - h]²``, ``h = fd_step``,
    the FD step in x and in t). Boundary points: ``n_collocation + 2`` evenly spaced times on
    each of ``x = 0`` and ``x = 1``, and as many x at ``t = 0``. n_test: fine-grid points per
    axis.
    """
    if not (isinstance(kappa, (int, float)) and 0 < kappa <= 10):
        raise ValueError(f"kappa must be a number in (0, 10], got {kappa!r}")
    return _space_time_task(
        "pde-heat1d", "heat1d", {"kappa": kappa}, kappa * np.pi**2,
        n_collocation=n_collocation, fd_step=fd_step, n_test=n_test,
        residual_weight=residual_weight, boundary_weight=boundary_weight,
    )


def load_pde_burgers1d(
    *,
    nu: float = 0.05,
    n_collocation: int = 16,
    fd_step: float = 1.0 / 16.0,
    n_test: int = 101,
    residual_weight: float = 1.0,
    boundary_weight: float = 10.0,
) -> Task:
    """Viscous Burgers ``u_t + u u_x = nu u_xx`` on [0, 1]² (see the module docstring); the
    test split holds the exact Cole-Hopf solution. Options as for ``pde-heat1d``; ``nu`` in
    [0.02, 10], where the reference series is accurate to 1e-9."""
    if not (isinstance(nu, (int, float)) and 0.02 <= nu <= 10):
        raise ValueError(f"nu must be a number in [0.02, 10] (the reference solution loses "
                         f"precision below 0.02), got {nu!r}")
    return _space_time_task(
        "pde-burgers1d", "burgers1d", {"nu": nu}, np.pi / 2 + nu * np.pi**2,
        n_collocation=n_collocation, fd_step=fd_step, n_test=n_test,
        residual_weight=residual_weight, boundary_weight=boundary_weight,
    )
