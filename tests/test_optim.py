"""eqlib.optim: the sync-free AdamW and clipping give torch's numbers, resume from a state dict, read nothing; the
spectral fit's Adam and L-BFGS give torch's numbers bit for bit without importing torch._dynamo."""

import copy
import subprocess
import sys

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from eqlib.optim import AdamW, LeafAdam, QuickLBFGS, clip_grad_norm_


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def _loss(model: torch.nn.Module, step: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(step)
    x, y = torch.randn(16, 6, generator=gen), torch.randn(16, 3, generator=gen)
    return ((model(x) - y) ** 2).mean() * 40  # large enough gradients that clipping acts


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_adamw_and_clipping_match_torch(weight_decay):
    ours, theirs = _model(), _model()
    opt_ours = AdamW(ours.parameters(), lr=3e-3, weight_decay=weight_decay)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=3e-3, weight_decay=weight_decay, foreach=False)
    clipped = 0
    for step in range(30):
        for model, opt, clip in ((ours, opt_ours, clip_grad_norm_), (theirs, opt_theirs, torch.nn.utils.clip_grad_norm_)):
            opt.zero_grad()
            _loss(model, step).backward()
            norm = clip(model.parameters(), 1.0)
            opt.step()
        clipped += float(norm) > 1.0
    assert clipped > 5
    for a, b in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_state_dict_resumes_exactly():
    model = _model()
    opt = AdamW(model.parameters(), lr=1e-2)
    for step in range(5):
        opt.zero_grad()
        _loss(model, step).backward()
        opt.step()
    resumed_model = copy.deepcopy(model)
    resumed = AdamW(resumed_model.parameters(), lr=1e-2)
    resumed.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert resumed.param_groups[0]["step"] == 5
    for model_, opt_ in ((model, opt), (resumed_model, resumed)):
        opt_.zero_grad()
        _loss(model_, 99).backward()
        opt_.step()
    for a, b in zip(model.parameters(), resumed_model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_step_reads_no_scalar_back():
    model = _model()
    opt = AdamW(model.parameters())
    _loss(model, 0).backward()
    opt.step()  # the first step creates the moment buffers
    opt.zero_grad()
    _loss(model, 1).backward()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    names = [e.name for e in prof.events()]
    assert "aten::_local_scalar_dense" not in names
    assert sum(name.startswith("aten::_foreach") for name in names) >= 8


def _rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """A sum of 2-D Rosenbrock valleys over the rows of ``x`` ``(rows, 2)``: curved, so both optimisers work."""
    return (100 * (x[:, 1] - x[:, 0] ** 2) ** 2 + (1 - x[:, 0]) ** 2).sum()


def _start() -> torch.Tensor:
    return torch.randn(5, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64).requires_grad_(True)


def test_leaf_adam_is_torch_adam_bit_for_bit():
    ours, theirs = _start(), _start()
    opt_ours, opt_theirs = LeafAdam(ours, lr=0.05), torch.optim.Adam([theirs], lr=0.05)
    for _ in range(200):
        for x, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad()
            _rosenbrock(x).backward()
            opt.step()
    assert torch.equal(ours, theirs) and not torch.equal(ours, _start())


def test_quick_lbfgs_is_torch_lbfgs_bit_for_bit():
    ours, theirs = _start(), _start()
    for x, cls in ((ours, QuickLBFGS), (theirs, torch.optim.LBFGS)):
        opt = cls([x], lr=1.0, max_iter=40, history_size=30, line_search_fn="strong_wolfe")

        def closure(x=x, opt=opt) -> torch.Tensor:
            opt.zero_grad()
            loss = _rosenbrock(x)
            loss.backward()
            return loss

        opt.step(closure)
    with torch.no_grad():
        assert torch.equal(ours, theirs) and float(_rosenbrock(ours)) < 1e-3 * float(_rosenbrock(_start()))


def test_the_spectral_fit_does_not_import_dynamo():
    """Constructing a torch.optim optimiser imports torch._dynamo (seconds); a fit must not."""
    code = ("import sys, numpy as np\n"
            "from eqlib.spectral_fit import fit_eq_to_target\n"
            "from eqlib.spectrum import log_grid_hz\n"
            "f = log_grid_hz(44100)\n"
            "fit_eq_to_target(np.linspace(-6, 6, f.size), f, 44100, steps=5, refine_steps=5, num_random=2)\n"
            "print(sorted(m for m in sys.modules if m.startswith('torch._dynamo')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"
