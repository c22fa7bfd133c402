"""Sharpness-aware minimization (SAM) as a ``torch.optim.Optimizer``.

Foret, Kleiner, Mobahi and Neyshabur (2021) replace the training loss ``L(w)`` by the worst
loss in a ball of radius ``rho`` around ``w``,

    L_SAM(w) = max_{||e|| <= rho} L(w + e),

and approximate the inner maximum by one step along the gradient (a first-order Taylor
expansion of ``L`` around ``w``, maximized on the ball):

    e(w) = rho g / ||g||,        g = grad L(w),  ||.|| the Euclidean norm over ALL parameters.

Dropping the second-order term that the chain rule would add (their Eq. (3) and the
paragraph after it), the gradient of ``L_SAM`` is taken to be ``grad L`` at the perturbed
point. One SAM step (their Algorithm 1) is therefore::

    g     = grad L(w)                      (first forward-backward pass, at w)
    w_adv = w + rho g / ||g||              (ascend: first_step)
    g_adv = grad L(w_adv)                  (second forward-backward pass, at w_adv)
    w     <- base optimizer step from w with gradient g_adv   (restore w, then second_step)

The base optimizer (``torch.optim.SGD`` with momentum and weight decay in the paper) sees
only ``g_adv`` in place of the gradient; its momentum buffers and weight decay act as usual,
and its weight decay is applied at the restored ``w``. With ``rho = 0`` the step is exactly
the base optimizer's step.

With ``adaptive=True`` the ball is measured in the scaled coordinates ``w / |w|`` of Kwon,
Kim, Park and Choi (2021, ASAM): ``e = rho T^2 g / ||T g||`` with ``T = diag(|w|)``.

Whatever ``.grad`` holds when :meth:`SAM.first_step` runs sets the ascent direction. A loop
that fills it with the gradient of the whole training set and then takes the descent
gradient on a mini-batch is the "n-SAM" of Andriushchenko and Flammarion (2022); filling it
with the gradient of the same mini-batch is the usual SAM, whose sharpness is the
"m-sharpness" of Foret et al. (Section 4.1) with ``m`` the batch size.

References
----------
Foret, Kleiner, Mobahi, Neyshabur (2021), *Sharpness-aware minimization for efficiently
improving generalization*, ICLR, https://arxiv.org/abs/2010.01412.
Kwon, Kim, Park, Choi (2021), *ASAM: adaptive sharpness-aware minimization for
scale-invariant learning of deep neural networks*, ICML, https://arxiv.org/abs/2102.11600.
Andriushchenko, Flammarion (2022), *Towards understanding sharpness-aware minimization*,
ICML, https://arxiv.org/abs/2206.06232.
"""

from __future__ import annotations

import torch

from . import checks


def _is_optimizer_class(cls):
    return isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)


class SAM(torch.optim.Optimizer):
    """Sharpness-aware minimization around any torch optimizer (Foret et al. 2021, Alg. 1).

    Parameters
    ----------
    params : iterable of torch.Tensor or of dicts
        The parameters (or parameter groups), as for any torch optimizer.
    base_optimizer_cls : subclass of torch.optim.Optimizer
        The optimizer that takes the step with the gradient at the perturbed point, e.g.
        ``torch.optim.SGD``; it is built on the same parameter groups.
    rho : float, default 0.05
        Radius of the ball, ``>= 0`` (0: the base optimizer unchanged). Foret et al. use 0.05
        as their default.
    adaptive : bool, default False
        Measure the ball in the coordinates ``w / |w|`` (ASAM, Kwon et al. 2021).
    **base_kwargs
        Passed to ``base_optimizer_cls`` (``lr``, ``momentum``, ``weight_decay``, ...).

    Notes
    -----
    Two ways to use it:

    * ``opt.step(closure)``: ``closure()`` computes the loss on the current batch, calls
      ``backward()`` and returns the loss (the gradients are zeroed before each call). It is
      called twice, at ``w`` and at ``w + e``; the first loss is returned.
    * ``loss.backward(); opt.first_step(zero_grad=True); loss_fn().backward();
      opt.second_step(zero_grad=True)``: the two calls written out, for loops that want
      different data for the ascent and for the descent.

    The norm ``||g||`` is over every parameter of every group together; ``rho`` and
    ``adaptive`` may differ per group. Parameters without a gradient are not perturbed.
    """

    def __init__(self, params, base_optimizer_cls, rho=0.05, adaptive=False, **base_kwargs):
        rho = checks.nonnegative("rho", rho)
        if not isinstance(adaptive, bool):
            raise ValueError(f"adaptive must be True or False; got {adaptive!r}.")
        if not _is_optimizer_class(base_optimizer_cls):
            raise ValueError(
                "base_optimizer_cls must be a subclass of torch.optim.Optimizer; "
                f"got {base_optimizer_cls!r}."
            )
        super().__init__(params, dict(rho=rho, adaptive=adaptive, **base_kwargs))
        for group in self.param_groups:
            checks.nonnegative("rho", group["rho"])
        self.base_optimizer = base_optimizer_cls(self.param_groups, **base_kwargs)
        # one list of groups for both: a change of lr (a scheduler) reaches the base step
        self.param_groups = self.base_optimizer.param_groups
        self.defaults.update(self.base_optimizer.defaults)

    def _scaled(self, p, group):
        """``T g`` with ``T = |w|`` (adaptive) or the identity."""
        return p.grad * p.abs() if group["adaptive"] else p.grad

    @torch.no_grad()
    def grad_norm(self):
        """``||T g||`` over all parameters with a gradient (``T`` as in :meth:`first_step`)."""
        squares = [
            self._scaled(p, group).pow(2).sum()
            for group in self.param_groups
            for p in group["params"]
            if p.grad is not None
        ]
        if not squares:
            return torch.tensor(0.0)
        return torch.stack(squares).sum().sqrt()

    @torch.no_grad()
    def first_step(self, zero_grad=False):
        """Move to the ascent point ``w + e``, ``e = rho T^2 g / ||T g||``, keeping ``w``.

        ``g`` is what ``.grad`` holds now. When ``g = 0`` the point does not move. With
        ``zero_grad`` the gradients are zeroed afterwards, ready for the second pass.
        """
        norm = self.grad_norm()
        for group in self.param_groups:
            scale = group["rho"] / norm if norm > 0 else 0.0
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.state[p]["anchor"] = p.detach().clone()  # w, restored exactly later
                e = self._scaled(p, group) * scale
                if group["adaptive"]:
                    e = e * p.abs()  # T^2 g, with T g already in e
                p.add_(e)
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad=False):
        """Restore ``w`` and step the base optimizer with the gradient now in ``.grad``."""
        for group in self.param_groups:
            for p in group["params"]:
                anchor = self.state[p].pop("anchor", None)
                if anchor is not None:
                    p.copy_(anchor)
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def step(self, closure=None):
        """One SAM step; ``closure`` computes the loss with ``backward()`` and returns it.

        Returns the loss at ``w`` (the first call of the closure).
        """
        if not callable(closure):
            raise ValueError(
                "closure must be a callable that computes the loss and calls backward(); "
                f"got {closure!r}."
            )
        with torch.enable_grad():
            self.zero_grad()
            loss = closure()
            self.first_step(zero_grad=True)
            closure()
        self.second_step()
        return loss
