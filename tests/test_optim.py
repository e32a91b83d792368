"""eqlib.optim: the sync-free AdamW and clipping give torch's numbers, resume from a state dict, read nothing."""

import copy

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from eqlib.optim import AdamW, clip_grad_norm_


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
