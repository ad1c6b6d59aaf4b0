#!/usr/bin/env python3
"""PyTorch timings for the workloads of Lossmith's benchmark (bench/README.md).

Each workload here mirrors the factory of the same name in bench/workloads.ts: same shapes, same
stand-in loss (the same expression tree with one weight per edge), same number of steps, same
batch schedule. bench/run.ts starts this script with OMP_NUM_THREADS=1 and divides its own time
by the one printed here.

Runs with Debian's python3-torch: /usr/bin/python3 bench/torch_reference.py

    torch_reference.py [--workloads a,b,...] [--repeats N] [--device cpu|cuda]
    torch_reference.py --serve [--device cpu|cuda]

Prints one JSON object per line and workload:
{"workload", "ms", "repeats", "torch", "threads", "device"}, ms being the mean of the timed
repetitions after one untimed warm-up.

With --serve it times one repetition at a time, when asked on stdin, so that bench/run.ts can
interleave its own repetitions with these: each input line is a JSON object, answered by one
output line:
    {"op": "setup", "workload": w}  -> {"workload", "torch", "threads", "device"} (after a warm-up)
    {"op": "time", "workload": w}   -> {"workload", "ms"}
    {"op": "quit"}
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

BATCH, FEATURES, HIDDEN, CLASSES = 128, 784, 100, 10
TRAIN_ROWS = 8 * BATCH
VALIDATION_ROWS = BATCH
LR = 0.01  # plain SGD, the inner optimiser of the MNIST settings
EPS = 1e-7  # floor of the protected log
FITNESS_STEPS = 500
SCREEN_EXAMPLES, SCREEN_STEPS, SCREEN_LR = 100, 100, 0.01
META_STEPS, META_LR = 250, 0.001

# The stand-in learned loss as bench/workloads.ts writes it, a prefix tree of 11 nodes:
#   add(mul(-1, mul(y, log(f))), square(sub(f, y)))
# Node k's value is multiplied by phi[k] as it is passed to its parent (phi[0], the root's, is
# unused). All weights 1 except node 7 (the square), 0.1: sum_c[-y log|f|] + 0.1 sum_c[(f - y)^2].
LEARNED_PHI = [0.1 if k == 7 else 1.0 for k in range(11)]

# K candidates of a generation, for the fused engine's workloads; each repetition is a few
# meta-steps or SGD steps of all of them, and reports the time per step.
STACKS = [1, 4, 16, 25, 64]
FUSED_META_STEPS, FUSED_FITNESS_STEPS = 5, 10

ALL_WORKLOADS = [
    "mlp_step", "mlp_unroll5", "mlp_fitness500", "mlp_candidate", "lenet_step", "lenet_unroll1",
] + [f"fused_meta_k{k}" for k in STACKS] + [f"fused_fitness_k{k}" for k in STACKS]
# Timed max(1, repeats // 10) times, as bench/timing.ts does for them.
SLOW = {"mlp_fitness500", "mlp_candidate"} | {
    w for w in ALL_WORKLOADS if w.startswith("fused_") and not w.endswith("_k1")}

# Parameter layouts as (shape, fan-in), in the engine's order: weight then bias for each layer.
MLP_LAYOUT = [((FEATURES, HIDDEN), FEATURES), ((HIDDEN,), FEATURES),
              ((HIDDEN, CLASSES), HIDDEN), ((CLASSES,), HIDDEN)]
LENET_LAYOUT = [((6, 1, 5, 5), 25), ((6,), 25),
                ((16, 6, 5, 5), 150), ((16,), 150),
                ((256, 120), 256), ((120,), 256),
                ((120, 84), 120), ((84,), 120),
                ((84, CLASSES), 84), ((CLASSES,), 84)]


def initial_params(layout, seed, device, requires_grad=True):
    """The engine's initialisation (PyTorch's default for linear and conv layers): weights and
    biases uniform in +-1/sqrt(fan_in). Drawn on the host and uploaded, as the engine does."""
    gen = torch.Generator().manual_seed(seed)
    params = []
    for shape, fan_in in layout:
        bound = 1.0 / math.sqrt(fan_in)
        p = (torch.rand(shape, generator=gen) * 2 - 1) * bound
        params.append(p.to(device).requires_grad_(requires_grad))
    return params


def mlp(params, x):
    w1, b1, w2, b2 = params
    return torch.relu(x @ w1 + b1) @ w2 + b2


def lenet(params, x):
    c1, d1, c2, d2, w3, b3, w4, b4, w5, b5 = params
    h = x.view(-1, 1, 28, 28)
    h = F.max_pool2d(torch.relu(F.conv2d(h, c1, d1)), 2)
    h = F.max_pool2d(torch.relu(F.conv2d(h, c2, d2)), 2)
    h = torch.relu(h.flatten(1) @ w3 + b3)
    h = torch.relu(h @ w4 + b4)
    return h @ w5 + b5


def cross_entropy(logits, targets):
    return -(targets * torch.log_softmax(logits, 1)).sum(1).mean()


def learned_loss(logits, targets, phi):
    """The stand-in tree evaluated node by node, each child scaled by its own weight."""
    f = torch.softmax(logits, 1)
    y = targets
    minus_one = torch.full_like(f, -1.0)  # the engine materialises constants at f's shape
    log_f = torch.log(torch.clamp(torch.abs(phi[6] * f), min=EPS))  # node 5
    y_log_f = (phi[4] * y) * (phi[5] * log_f)  # node 3
    cross = (phi[2] * minus_one) * (phi[3] * y_log_f)  # node 1
    diff = phi[9] * f - phi[10] * y  # node 8
    square = (phi[8] * diff) ** 2  # node 7
    per_class = phi[1] * cross + phi[7] * square  # node 0
    return per_class.sum(1).mean()


def error_rate(logits, targets):
    return (logits.argmax(1) != targets.argmax(1)).float().mean().item()


def random_rows(n, seed, device):
    """Features uniform in [0, 1), labels uniform over the classes, one-hot."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, FEATURES, generator=gen)
    labels = torch.randint(0, CLASSES, (n,), generator=gen)
    return x.to(device), F.one_hot(labels, CLASSES).float().to(device)


def batch(rows, i):
    """Batch i: the contiguous rows at offset (i * B) mod (n - B + 1), the engine's schedule."""
    x, y = rows
    b = min(BATCH, x.shape[0])
    at = (i * b) % (x.shape[0] - b + 1)
    return x[at:at + b], y[at:at + b]


def sgd_step(params, grads):
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(LR * g)


def train_step(model, layout, device):
    """One SGD step under cross-entropy on batch 0; the parameters persist across repetitions."""
    train = random_rows(TRAIN_ROWS, 1, device)
    params = initial_params(layout, 2, device)
    xb, yb = batch(train, 0)

    def run():
        sgd_step(params, torch.autograd.grad(cross_entropy(model(params, xb), yb), params))
    return run


def unroll(model, layout, steps, device):
    """d CE(batch `steps`) / d phi through `steps` differentiable SGD steps on batches 0, 1, ...
    under the learned loss, always from the same initial parameters."""
    train = random_rows(TRAIN_ROWS, 1, device)
    theta0 = initial_params(layout, 2, device)
    phi = torch.tensor(LEARNED_PHI, device=device, requires_grad=True)

    def run():
        params = theta0
        for t in range(steps):
            xb, yb = batch(train, t)
            loss = learned_loss(model(params, xb), yb, phi)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            params = [p - LR * g for p, g in zip(params, grads)]
        xv, yv = batch(train, steps)
        (hyper,) = torch.autograd.grad(cross_entropy(model(params, xv), yv), phi)
        return hyper.tolist()  # read back, as the engine does
    return run


class Candidate:
    """What the engine's CandidateEvaluator holds for one search: training rows shuffled once,
    one validation batch, and the single initialisation every fitness training starts from."""

    def __init__(self, model, layout, device):
        self.model, self.layout, self.device = model, layout, device
        x, y = random_rows(TRAIN_ROWS, 1, device)
        order = torch.randperm(TRAIN_ROWS, generator=torch.Generator().manual_seed(0)).to(device)
        self.train = (x[order], y[order])
        self.validation = random_rows(VALIDATION_ROWS, 3, device)
        self.fitness_init = initial_params(layout, 0, device, requires_grad=False)

    def fitness(self, phi_values):
        """500 SGD steps from the shared initialisation under the loss with phi fixed, the loss
        read back every 100 steps to stop on NaN or infinity; then the validation error rate."""
        phi = torch.tensor(phi_values, device=self.device)
        params = [p.clone().requires_grad_(True) for p in self.fitness_init]
        for step in range(FITNESS_STEPS):
            xb, yb = batch(self.train, step)
            loss = learned_loss(self.model(params, xb), yb, phi)
            sgd_step(params, torch.autograd.grad(loss, params))
            if ((step + 1) % 100 == 0 or step == FITNESS_STEPS - 1) and \
                    not math.isfinite(loss.item()):
                return math.inf
        with torch.no_grad():
            return error_rate(self.model(params, self.validation[0]), self.validation[1])

    def screen(self):
        """The rejection screen: the untrained model's predictions on the first 100 training rows
        become free parameters, optimised under the plain loss (every weight 1) with Adam."""
        ones = torch.ones(len(LEARNED_PHI), device=self.device)
        x, y = self.train[0][:SCREEN_EXAMPLES], self.train[1][:SCREEN_EXAMPLES]
        with torch.no_grad():
            z0 = self.model(self.fitness_init, x)
        before = error_rate(z0, y)
        z = z0.clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=SCREEN_LR)
        for _ in range(SCREEN_STEPS):
            opt.zero_grad()
            learned_loss(z, y, ones).backward()
            opt.step()
        after = error_rate(z.detach(), y)
        return after < before

    def meta_step(self, phi, meta, s):
        """One meta-step of local search, as local_search below takes it."""
        theta0 = initial_params(self.layout, 7919 * (s + 1), self.device)
        xb, yb = batch(self.train, s)
        xv, yv = batch(self.validation, s)
        loss = learned_loss(self.model(theta0, xb), yb, phi)
        grads = torch.autograd.grad(loss, theta0, create_graph=True)
        theta1 = [p - LR * g for p, g in zip(theta0, grads)]
        value = cross_entropy(self.model(theta1, xv), yv)
        (hyper,) = torch.autograd.grad(value, phi)
        if not math.isfinite(value.item()) or not torch.isfinite(hyper).all().item():
            return False
        meta.zero_grad()
        phi.grad = hyper
        meta.step()
        return True

    def local_search(self, phi_seed):
        """250 meta-steps, each: a freshly initialised model (seeded by the meta-step number), one
        differentiable SGD step on training batch s, cross-entropy on the validation batch, Adam
        on phi along the hypergradient. phi starts at 1 + 0.001 N(0, 1)."""
        noise = torch.randn(len(LEARNED_PHI), generator=torch.Generator().manual_seed(phi_seed))
        phi = (1 + 0.001 * noise).to(self.device).requires_grad_(True)
        meta = torch.optim.Adam([phi], lr=META_LR)
        for s in range(META_STEPS):
            # The engine reads both back every meta-step and stops on a non-finite one.
            if not self.meta_step(phi, meta, s):
                break
        return phi.detach().tolist()


def fused_meta(k, device):
    """The work of the fused engine's `fused_meta_k<K>`, done as PyTorch would without it: the
    first FUSED_META_STEPS meta-steps of K candidates' local searches, one candidate after
    another (each its own phi and Adam). Reports the time per meta-step of all K."""
    c = Candidate(mlp, MLP_LAYOUT, device)

    def run():
        for _ in range(k):
            phi = torch.tensor(LEARNED_PHI, device=device, requires_grad=True)
            meta = torch.optim.Adam([phi], lr=META_LR)
            for s in range(FUSED_META_STEPS):
                c.meta_step(phi, meta, s)
    return run, FUSED_META_STEPS


def fused_fitness(k, device):
    """`fused_fitness_k<K>`: the first FUSED_FITNESS_STEPS SGD steps of K candidates' fitness
    trainings under the learned loss, one candidate after another; time per step of all K."""
    c = Candidate(mlp, MLP_LAYOUT, device)
    phi = torch.tensor(LEARNED_PHI, device=device)

    def run():
        for _ in range(k):
            params = [p.clone().requires_grad_(True) for p in c.fitness_init]
            for step in range(FUSED_FITNESS_STEPS):
                xb, yb = batch(c.train, step)
                loss = learned_loss(mlp(params, xb), yb, phi)
                sgd_step(params, torch.autograd.grad(loss, params))
            params[-1].sum().item()  # read back, as the engine does once at the end
    return run, FUSED_FITNESS_STEPS


def fitness500(model, layout, device):
    c = Candidate(model, layout, device)
    return lambda: c.fitness(LEARNED_PHI)


def whole_candidate(model, layout, device):
    """Screen, local search and fitness with the tuned phi; all three run whatever the screen
    decides, as in bench/workloads.ts."""
    c = Candidate(model, layout, device)

    def run():
        c.screen()
        c.fitness(c.local_search(11))
    return run


FACTORIES = {
    "mlp_step": lambda d: train_step(mlp, MLP_LAYOUT, d),
    "mlp_unroll5": lambda d: unroll(mlp, MLP_LAYOUT, 5, d),
    "mlp_fitness500": lambda d: fitness500(mlp, MLP_LAYOUT, d),
    "mlp_candidate": lambda d: whole_candidate(mlp, MLP_LAYOUT, d),
    "lenet_step": lambda d: train_step(lenet, LENET_LAYOUT, d),
    "lenet_unroll1": lambda d: unroll(lenet, LENET_LAYOUT, 1, d),
}
for _k in STACKS:
    FACTORIES[f"fused_meta_k{_k}"] = lambda d, k=_k: fused_meta(k, d)
    FACTORIES[f"fused_fitness_k{_k}"] = lambda d, k=_k: fused_fitness(k, d)


def make(name, device):
    """A workload's repetition and the steps it counts as one (1 for all but the fused ones)."""
    made = FACTORIES[name](device)
    return made if isinstance(made, tuple) else (made, 1)


def once_ms(run, sync):
    t0 = time.perf_counter()
    run()
    sync()  # a GPU repetition is done only when its kernels are
    return (time.perf_counter() - t0) * 1000.0


def mean_ms(run, repeats, sync):
    run()  # warm-up, untimed
    sync()
    return sum(once_ms(run, sync) for _ in range(repeats)) / repeats


def serve(device, sync):
    """Answers bench/run.ts's requests on stdin, one line each (see the module's docstring)."""
    made = {}
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "quit":
            return
        name = req["workload"]
        if req["op"] == "setup":
            made[name] = make(name, device)
            made[name][0]()  # warm-up, untimed
            sync()
            out = {"workload": name, "torch": torch.__version__,
                   "threads": torch.get_num_threads(), "device": str(device)}
        else:
            run, steps = made[name]
            out = {"workload": name, "ms": round(once_ms(run, sync) / steps, 4)}
        print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", default=",".join(ALL_WORKLOADS))
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in FACTORIES]
    if unknown:
        ap.error("unknown workload(s): " + ", ".join(unknown))
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: this PyTorch sees no CUDA device")
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    device = torch.device(args.device)
    if args.serve:
        return serve(device, sync)
    for name in names:
        repeats = max(1, args.repeats // 10) if name in SLOW else args.repeats
        run, steps = make(name, device)
        ms = mean_ms(run, repeats, sync) / steps
        print(json.dumps({"workload": name, "ms": round(ms, 3), "repeats": repeats,
                          "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "device": args.device}), flush=True)


if __name__ == "__main__":
    main()
