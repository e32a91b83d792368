"""AdamW and gradient clipping with no host synchronisation: a handful of multi-tensor ops per step.

``torch.optim.AdamW`` keeps its step count in a tensor per parameter and reads each back to the host
every step on CPU (its fused CPU kernel and its foreach path both do), and
``torch.nn.utils.clip_grad_norm_`` adds a copy per parameter. Here the step count is a Python integer,
the bias corrections are Python floats, and every update is one ``torch._foreach_*`` call over all
parameters, so a step issues about ten tensor ops and never waits on a device. The update is
Loshchilov & Hutter's decoupled weight decay with Kingma & Ba's bias-corrected moments, the same
numbers as ``torch.optim.AdamW`` (see ``tests/test_optim.py``).

The spectral fit's optimisers, :class:`LeafAdam` and :class:`QuickLBFGS`, give ``torch.optim.Adam``'s and
``torch.optim.LBFGS``'s numbers bit for bit without their first-use cost: constructing any
``torch.optim.Optimizer`` and stepping ``torch.optim.Adam`` import ``torch._dynamo`` (about 2 s, most of a
3-s ``eqlib match``), which nothing here uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class AdamW(torch.optim.Optimizer):
    """AdamW whose step count is a Python int (in ``param_groups``), so ``step()`` never reads a tensor.

    Args:
        params: parameters (one group) to optimise.
        lr: learning rate.
        betas: decay rates of the first and second moment estimates.
        eps: added to the denominator.
        weight_decay: decoupled weight decay (the parameter shrinks by ``lr * weight_decay`` per step).
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, step=0))

    @torch.no_grad()
    def step(self, closure=None) -> None:  # noqa: ANN001 - the Optimizer interface
        """One AdamW update of every parameter that has a gradient."""
        if closure is not None:
            raise ValueError("eqlib.optim.AdamW takes no closure")
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if not self.state[p]:
                    self.state[p]["exp_avg"] = torch.zeros_like(p)
                    self.state[p]["exp_avg_sq"] = torch.zeros_like(p)
            grads = [p.grad for p in params]
            exp_avg = [self.state[p]["exp_avg"] for p in params]
            exp_avg_sq = [self.state[p]["exp_avg_sq"] for p in params]
            group["step"] += 1
            lr, (beta1, beta2), step = group["lr"], group["betas"], group["step"]
            torch._foreach_mul_(params, 1 - lr * group["weight_decay"])
            torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
            torch._foreach_mul_(exp_avg_sq, beta2)
            torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2)
            denom = torch._foreach_sqrt(exp_avg_sq)
            torch._foreach_div_(denom, math.sqrt(1 - beta2**step))
            torch._foreach_add_(denom, group["eps"])
            torch._foreach_addcdiv_(params, exp_avg, denom, -lr / (1 - beta1**step))


def clip_grad_norm_(params: Iterable[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale gradients so their global L2 norm is at most ``max_norm``; return the norm before scaling.

    The scale ``min(1, max_norm / (norm + 1e-6))`` is applied on the device, as ``clip_grad_norm_``
    does, without reading the norm back.
    """
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, (max_norm / (norm + 1e-6)).clamp(max=1.0))
    return norm


class LeafAdam:
    """Adam (Kingma & Ba, bias-corrected moments, no weight decay) on one leaf tensor, outside
    ``torch.optim``: the same update, op for op, as ``torch.optim.Adam`` with its defaults on CPU.

    Args:
        param: the leaf tensor to optimise (``requires_grad``).
        lr: learning rate.
        betas: decay rates of the first and second moment estimates.
        eps: added to the denominator.
    """

    def __init__(self, param: torch.Tensor, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.param, self.lr, self.betas, self.eps, self.steps = param, lr, betas, eps, 0
        self.exp_avg, self.exp_avg_sq = torch.zeros_like(param), torch.zeros_like(param)

    def zero_grad(self) -> None:
        self.param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update from ``param.grad``."""
        grad, (beta1, beta2) = self.param.grad, self.betas
        self.steps += 1
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (self.exp_avg_sq.sqrt() / (1 - beta2**self.steps) ** 0.5).add_(self.eps)
        self.param.addcdiv_(self.exp_avg, denom, value=-self.lr / (1 - beta1**self.steps))


class QuickLBFGS(torch.optim.LBFGS):
    """``torch.optim.LBFGS`` itself (its ``step`` runs unchanged), built without importing ``torch._dynamo``:
    ``Optimizer.add_param_group`` and ``zero_grad`` are wrapped to import it on first use, so the constructor
    takes the undecorated ``add_param_group`` (``__wrapped__``; the wrapped one where a torch lacks it) and
    ``zero_grad`` drops the gradients itself."""

    add_param_group = getattr(torch.optim.Optimizer.add_param_group, "__wrapped__",
                              torch.optim.Optimizer.add_param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self._params:
            param.grad = None
