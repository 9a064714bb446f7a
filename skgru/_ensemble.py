"""Several GRU networks averaged (``ensemble_size``), and their training loss.

Pure torch. The members share the input standardisation and differ only in
their initial weights and dropout masks; each is trained on its own loss
(``MemberLoss`` averages the members' losses, so no member fits the others'
errors), and the ensemble answers with the mean of their outputs. Averaging
networks that start apart removes much of the variance a small training set
leaves in any one of them.
"""

from __future__ import annotations

import torch
from torch import nn

from ._module import GRUNetwork


class GRUEnsemble(nn.Module):
    """``members`` :class:`GRUNetwork` of the same arguments, averaged.

    In training mode the outputs are ``(batch, members, n_outputs)``, one
    per member, for :class:`MemberLoss`; in eval mode their mean,
    ``(batch, n_outputs)``, like one network's.
    """

    def __init__(self, members: int, **network_kwargs) -> None:
        super().__init__()
        self.members = nn.ModuleList(
            GRUNetwork(**network_kwargs) for _ in range(int(members))
        )

    # what the estimators and exports read of one network: the first
    # member's shared input scaling and normalisation settings
    @property
    def x_mean(self) -> torch.Tensor:
        return self.members[0].x_mean

    @property
    def x_scale(self) -> torch.Tensor:
        return self.members[0].x_scale

    @property
    def revin(self) -> bool:
        return self.members[0].revin

    @property
    def plain(self) -> bool:
        return False  # several states: a stream windows every row

    @property
    def gru(self) -> nn.GRU:
        return self.members[0].gru

    @property
    def ar(self) -> nn.Linear | None:
        return self.members[0].ar

    def set_input_scaling(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        for member in self.members:
            member.set_input_scaling(mean, scale)

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        return self.members[0].standardize(x)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        outputs = torch.stack([member(x, lengths) for member in self.members], 1)
        return outputs if self.training else outputs.mean(dim=1)


class MemberLoss(nn.Module):
    """``base``'s loss averaged over the members of a training batch.

    Outputs with a members axis, ``(batch, members, ...)``, are scored
    member by member against the same targets; outputs without one (eval
    mode: the validation loss) as one network's.
    """

    def __init__(self, base: type, **base_kwargs) -> None:
        super().__init__()
        self.base = base(**base_kwargs)

    def forward(self, outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if outputs.ndim != 3:
            return self.base(outputs, target)
        n, members = outputs.shape[:2]
        flat = outputs.transpose(0, 1).reshape(n * members, *outputs.shape[2:])
        return self.base(flat, target.repeat(members, *[1] * (target.ndim - 1)))
