"""Adam, the optimizer skgru trains with, without ``torch.optim``.

Every ``torch.optim`` optimizer imports torch's compiler stack
(``torch._dynamo`` and sympy) when it is built: its methods are wrapped to
keep ``torch.compile`` out, and the wrapper imports the compiler to do so.
That costs about 70 MB of memory and a second of start-up in every process
that fits a model (each joblib worker, each edge device running
``partial_fit``), for a compiler skgru never uses.

:class:`Adam` is the same algorithm, computed with the same operations in the
same order as ``torch.optim.Adam``'s default CPU implementation (one tensor at
a time, ``amsgrad=False``), so its updates equal torch's bit for bit
(``tests/test_adam.py`` checks it). Its ``state_dict`` has torch's layout,
so saved models and skorch's checkpoints read and write it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

# torch.optim.Adam's hyperparameters that this implementation covers.
HYPERPARAMETERS = ("lr", "betas", "eps", "weight_decay")

# torch.optim.Adam's other group settings, at the values this implementation
# computes: written into state dicts so that torch.optim.Adam can read them,
# and ignored when read.
TORCH_FLAGS = {
    "amsgrad": False,
    "maximize": False,
    "foreach": None,
    "capturable": False,
    "differentiable": False,
    "fused": None,
    "decoupled_weight_decay": False,
}


class Adam(torch.optim.Optimizer):
    """Adam (Kingma & Ba) with optional L2 weight decay, as ``torch.optim.Adam``.

    It is a ``torch.optim.Optimizer`` for code that checks the type (skorch
    registers a net's optimizers by it, to move and pickle them with the
    module), but it does not call ``Optimizer.__init__``, whose hooks import
    torch's compiler: every method skorch and skgru call is its own.

    Parameters
    ----------
    params : iterable of tensors or of dicts
        The parameters to train, or parameter groups (dicts with a
        ``"params"`` entry and optional hyperparameters), as in torch.
    lr, betas, eps, weight_decay
        As in ``torch.optim.Adam``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
        }
        groups = list(params)
        if not groups:
            raise ValueError("Adam got an empty list of parameters.")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.param_groups: list[dict] = []
        for group in groups:
            group = {**self.defaults, **group}
            group["params"] = list(group["params"])
            self.param_groups.append(group)
        self.state: dict[torch.Tensor, dict] = {}

    def __setstate__(self, state: dict) -> None:
        # Optimizer.__setstate__ would wrap step in torch's profiling hooks
        self.__dict__.update(state)

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """One update of every parameter that has a gradient.

        ``closure`` (as skorch passes it) computes the loss and the gradients
        first; its loss is returned.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                self._update(group)
        return loss

    def _update(self, group: dict) -> None:
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            state = self.state.get(param)
            if not state:
                state = self.state[param] = {
                    # a float32 CPU scalar, as torch.optim.Adam keeps it
                    "step": torch.zeros(()),
                    "exp_avg": torch.zeros_like(param),
                    "exp_avg_sq": torch.zeros_like(param),
                }
            step_t, exp_avg, exp_avg_sq = (
                state["step"],
                state["exp_avg"],
                state["exp_avg_sq"],
            )
            step_t += 1
            if weight_decay != 0:
                grad = grad.add(param, alpha=weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step = step_t.item()
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            step_size = lr / bias_correction1
            denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(eps)
            param.addcdiv_(exp_avg, denom, value=-step_size)

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """torch's layout: state and groups refer to parameters by position."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = []
        for group in self.param_groups:
            saved = {k: v for k, v in group.items() if k != "params"}
            saved.update(TORCH_FLAGS)
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {index[id(p)]: dict(s) for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state dict from :meth:`state_dict` or ``torch.optim.Adam``."""
        groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in groups]
        if sizes != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(
                "The optimizer state does not match this network: its groups "
                f"hold {sizes} parameters, this optimizer's "
                f"{[len(g['params']) for g in self.param_groups]}."
            )
        by_index = {}
        for group, saved in zip(self.param_groups, groups, strict=True):
            for key in HYPERPARAMETERS:
                if key in saved:
                    group[key] = tuple(saved[key]) if key == "betas" else saved[key]
            for i, p in zip(saved["params"], group["params"], strict=True):
                by_index[i] = p
        self.state = {}
        for i, saved in state_dict["state"].items():
            param = by_index.get(int(i))
            if param is None:
                raise ValueError(
                    f"The optimizer state names parameter {i}, "
                    f"but this network has {len(by_index)}."
                )
            self.state[param] = {
                # the step stays a CPU float32 scalar; moments follow the parameter
                k: v.to(torch.float32).cpu().clone()
                if k == "step"
                else v.to(dtype=param.dtype, device=param.device).clone()
                for k, v in saved.items()
            }
