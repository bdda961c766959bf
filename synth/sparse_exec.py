"""Sparse execution for inference: Linear layers whose weights hold zeros run as CSR products.

A pruned model runs no faster as long as its zeros are multiplied; ``sparse_copy`` returns a
copy in which the chosen Linear layers keep only their nonzero weights (compressed sparse
rows) and compute ``y = W x + b`` with ``torch.mv`` (one row) or a CSR @ dense product.
Whether that is faster than the dense product depends on the sparsity, the shape and the
machine: on a CPU the CSR kernels only win at high sparsity, which is what the latency
tables of the symbiotic training measure (``synth.symbiotic``).
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn


class CSRLinear(nn.Module):
    """Inference-only Linear with a CSR weight (out x in) and a dense bias."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]
        with warnings.catch_warnings():   # "sparse CSR support is in beta"
            warnings.simplefilter("ignore")
            self.weight_csr = weight.detach().to_sparse_csr()
        self.bias = None if bias is None else bias.detach().clone()
        self.nnz = int(self.weight_csr.values().numel())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        if flat.shape[0] == 1:
            y = torch.mv(self.weight_csr, flat[0]).unsqueeze(0)
        else:
            y = (self.weight_csr @ flat.t()).t()
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)


@torch.no_grad()
def sparse_copy(model: nn.Module, within: str = "", min_sparsity: float = 0.0) -> nn.Module:
    """A CPU copy of ``model`` (eval mode) in which every Linear under the submodule path
    ``within`` ("" = everywhere) with at least ``min_sparsity`` zero weights is a CSRLinear."""
    model = copy.deepcopy(model).cpu().eval()
    root = model.get_submodule(within) if within else model
    targets = [(n, m) for n, m in root.named_modules() if isinstance(m, nn.Linear)]
    for name, layer in targets:
        w = layer.weight.detach()             # effective weight: a mask is applied here
        if float((w == 0).float().mean()) < min_sparsity:
            continue
        parent = root.get_submodule(name.rsplit(".", 1)[0]) if "." in name else root
        setattr(parent, name.rsplit(".", 1)[-1], CSRLinear(w, layer.bias))
    return model
