"""Golden optimizer trajectories from real PyTorch 1.13 (single-tensor code paths): two
parameters, a fixed sequence of gradients, the parameters after every step and the final state
buffers. NAdam runs 1.13's own update with the one line PyTorch 2.0 fixed (1.13 multiplies mu_t into
the next step's product twice); we follow PyTorch 2.x there.

usage: /usr/bin/python3 test/reference/optim_trajectories.py"""
import sys

import torch
from torch.optim import RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam

from golden_io import enc, meta, write

SEED = 0
STEPS = 10
torch.manual_seed(SEED)
torch.set_num_threads(1)

CONFIGS = [
    ("RMSprop", RMSprop, {}),
    ("RMSprop", RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("RMSprop", RMSprop, {"alpha": 0.9, "maximize": True}),
    ("Adagrad", Adagrad, {}),
    ("Adagrad", Adagrad, {"lr_decay": 0.1, "weight_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("Adagrad", Adagrad, {"maximize": True, "eps": 1e-6}),
    ("Adadelta", Adadelta, {}),
    ("Adadelta", Adadelta, {"lr": 0.5, "rho": 0.8, "weight_decay": 0.05}),
    ("Adadelta", Adadelta, {"maximize": True}),
    ("Adamax", Adamax, {}),
    ("Adamax", Adamax, {"betas": (0.8, 0.99), "weight_decay": 0.01}),
    ("Adamax", Adamax, {"maximize": True}),
    ("NAdam", NAdam, {}),
    ("NAdam", NAdam, {"weight_decay": 0.01, "momentum_decay": 0.01, "lr": 0.01}),
    ("RAdam", RAdam, {}),
    ("RAdam", RAdam, {"betas": (0.9, 0.99), "weight_decay": 0.01, "lr": 0.01}),
]


def nadam_2x(params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps, *, beta1, beta2, lr, weight_decay, momentum_decay, eps):
    """torch 1.13's _single_tensor_nadam with PyTorch 2.0's fix of mu_product_next."""
    for i, param in enumerate(params):
        grad, exp_avg, exp_avg_sq, mu_product, step_t = grads[i], exp_avgs[i], exp_avg_sqs[i], mu_products[i], state_steps[i]
        step_t += 1
        step = step_t.item()
        bias_correction2 = 1 - beta2 ** step
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        mu = beta1 * (1. - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product *= mu
        mu_product_next = mu_product * mu_next  # 1.13: mu_product * mu * mu_next
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
        param.addcdiv_(grad, denom, value=-lr * (1. - mu) / (1. - mu_product.item()))
        param.addcdiv_(exp_avg, denom, value=-lr * mu_next / (1. - mu_product_next.item()))


def main():
    import torch.optim.nadam as nadam_module
    nadam_module._single_tensor_nadam = nadam_2x
    out = {"meta": meta(__file__, SEED, steps=STEPS, nadam="PyTorch 2.x formula (see the docstring)"), "runs": []}
    for name, cls, kw in CONFIGS:
        p0 = [torch.randn(3, 4), torch.randn(5)]
        grads = [[torch.randn(3, 4), torch.randn(5)] for _ in range(STEPS)]
        params = [p.clone().requires_grad_(True) for p in p0]
        opt = cls(params, foreach=False, **kw) if "foreach" in cls.__init__.__code__.co_varnames else cls(params, **kw)
        trajectory = []
        for g in grads:
            for p, gi in zip(params, g):
                p.grad = gi.clone()
            opt.step()
            trajectory.append([enc(p) for p in params])
        state = {}
        for i, p in enumerate(params):
            st = opt.state[p]
            state[str(i)] = {k: (enc(v) if isinstance(v, torch.Tensor) and v.dim() > 0 else float(v)) for k, v in st.items()}
        out["runs"].append({"optimizer": name, "options": {k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()},
                            "params": [enc(p) for p in p0], "grads": [[enc(x) for x in g] for g in grads],
                            "trajectory": trajectory, "state": state})
    write("optim_trajectories", out)


if __name__ == "__main__":
    sys.exit(main())
