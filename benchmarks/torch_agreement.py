"""How closely does softmax_ce agree with torch? Every cross_entropy option combination, measured.

    python benchmarks/torch_agreement.py [--trials 20] [--seed 0]

For each combination of target kind (class indices / probabilities), layout (K = 0: (N, C); K = 1: (N, C, d1);
K = 2: (N, C, d1, d2); and unbatched (C,)), weight, ignore_index, label_smoothing, reduction and dtype, it draws
random problems (logits up to |30|) and reports the largest relative difference of the loss and of its gradient
(softmax_ce.gradients vs torch autograd): max |ours − torch| / max(1, |torch|).
"""

import argparse
import itertools
import sys

import numpy as np
import torch
import torch.nn.functional as F

from softmax_ce import functional as npF
from softmax_ce import gradients as G

LAYOUTS = {"unbatched (C,)": (), "K=0 (N, C)": None, "K=1 (N, C, d1)": (3,), "K=2 (N, C, d1, d2)": (2, 3)}


def problem(rng, layout, targets, dtype, ignore):
    n, c = 5, 4
    shape = (c,) if LAYOUTS[layout] == () else (n, c, *(LAYOUTS[layout] or ()))
    class_dim = 0 if len(shape) == 1 else 1
    x = (rng.uniform(-30, 30, size=shape)).astype(dtype)
    if targets == "probabilities":
        return x, npF.softmax(rng.normal(size=shape), dim=class_dim).astype(dtype)
    t = rng.integers(0, c, size=shape[:class_dim] + shape[class_dim + 1:])
    if ignore and t.ndim:
        t[rng.random(t.shape) < 0.3] = -100
    return x, t


def rel_diff(ours, theirs):
    theirs = theirs.detach().numpy()
    with np.errstate(invalid="ignore"):
        d = np.abs(np.asarray(ours, dtype=np.float64) - theirs) / np.maximum(1.0, np.abs(theirs))
    both_nan = np.isnan(ours) & np.isnan(theirs)
    return float(np.max(np.where(both_nan, 0.0, d), initial=0.0))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    worst = {}
    combos = 0
    for targets, layout, weighted, ignore, eps, reduction, dtype in itertools.product(
            ["indices", "probabilities"], LAYOUTS, [False, True], [False, True], [0.0, 0.1],
            ["mean", "sum", "none"], [np.float32, np.float64]):
        if targets == "probabilities" and ignore:
            continue  # ignore_index applies to class indices only
        combos += 1
        for _ in range(args.trials):
            x, t = problem(rng, layout, targets, dtype, ignore)
            opts = {"reduction": reduction, "label_smoothing": eps,
                    "weight": rng.uniform(0.2, 3, size=4).astype(dtype) if weighted else None}
            xt = torch.from_numpy(x.copy()).requires_grad_()
            topts = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in opts.items()}
            theirs = F.cross_entropy(xt, torch.from_numpy(t), **topts)
            theirs.sum().backward()
            loss_d = rel_diff(npF.cross_entropy(x, t, **opts), theirs)
            grad_d = rel_diff(G.cross_entropy_grad(x, t, **opts), xt.grad)
            key = np.dtype(dtype).name
            name = f"{targets}, {layout}, weight={weighted}, ignore={ignore}, eps={eps}, {reduction}"
            for what, d in (("loss", loss_d), ("gradient", grad_d)):
                if d >= worst.get((key, what), (-1, ""))[0]:
                    worst[key, what] = (d, name)
    print(f"{combos} option combinations x {args.trials} random problems each, logits in [-30, 30]")
    print(f"{'dtype':8} {'what':9} {'max rel. difference':>20}  worst combination")
    for (dtype, what), (d, name) in sorted(worst.items()):
        print(f"{dtype:8} {what:9} {d:20.2e}  {name}")
    ok = all(d <= (1e-5 if dtype == "float32" else 1e-10) for (dtype, _), (d, _) in worst.items())
    print("within the tolerances (float32 1e-5, float64 1e-10):", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
